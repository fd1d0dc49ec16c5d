// Each noun of the `bulkhead` CLI registers its subcommands here and returns what to run.
#pragma once

#include <functional>
#include <string>

#include <CLI/CLI.hpp>

namespace bulkhead::cmd {

// Runs the parsed command and returns the process exit code.
using CommandRunner = std::function<int()>;

// `bulkhead hcl`: the hardware requirements check.
CommandRunner register_hcl(CLI::App& app);

// `bulkhead keys generate | public`: signing keys for TUF repositories.
CommandRunner register_keys(CLI::App& app);

// `bulkhead repo init | add-target | ... | publish | status`: a TUF repository on disk.
CommandRunner register_repo(CLI::App& app);

// `bulkhead keys secureboot-init` (added to the `keys` noun) and `bulkhead image build`.
CommandRunner register_image(CLI::App& app, CLI::App& keys);

// `bulkhead system publish | bundle | check-bundle | update | status | bless | rollback`: system
// core releases, update bundles and A/B updates.
CommandRunner register_system(CLI::App& app);

// `bulkhead app add | list | start | stop | status | logs | remove | permissions | grant | revoke`
// and `bulkhead audit`: the client of bulkheadd.
CommandRunner register_app(CLI::App& app);

// `bulkhead app install | versions | update` (added to the `app` noun, talking to bulkheadd at
// `socket`, which must outlive the runner): apps from the TUF app repository.
CommandRunner register_app_store(CLI::App& apps, const std::string& socket);

// `bulkhead curate`: an app version from a snapshot of Arch repositories, staged as TUF targets.
CommandRunner register_curate(CLI::App& app);

}  // namespace bulkhead::cmd

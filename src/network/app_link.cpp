#include "network/app_link.hpp"

#include <sys/mman.h>

#include "base/file_io.hpp"
#include "base/process.hpp"
#include "base/text.hpp"
#include "network/namespaces.hpp"
#include "network/tool_script.hpp"

namespace bulkhead::network {

namespace {

constexpr const char* kIp = "/usr/sbin/ip";

Result<void> ip_batch(int network_namespace, const std::string& commands, int extra_fd, const std::string& what) {
    return run_tool_script(kIp, "-batch", commands, network_namespace, extra_fd, what);
}

// Best effort: a device left by an earlier VM of the same app.
void delete_link(int network_namespace, const std::string& name) {
    RunOptions options;
    options.network_namespace = network_namespace;
    options.timeout_seconds = kToolTimeoutSeconds;
    (void)run_program({kIp, "link", "del", "dev", name}, options);
}

}  // namespace

Result<UniqueFd> set_up_app_link(const AppLink& link) {
    const AppAddresses& a = link.addresses;
    (void)tear_down_app_link(link);
    if (auto made = create_network_namespace(link.app_namespace); !made) return fail(made.error());
    auto undo = [&link] { (void)tear_down_app_link(link); };
    auto app_namespace = open_network_namespace(link.app_namespace);
    if (!app_namespace) {
        undo();
        return fail(app_namespace.error());
    }
    if (auto prepared = prepare_app_namespace(app_namespace->get()); !prepared) {
        undo();
        return fail(prepared.error());
    }
    auto tap = create_tap(app_namespace->get(), kTapName);
    if (!tap) {
        undo();
        return fail(tap.error());
    }
    const std::string prefix = "/" + std::to_string(AppAddresses::kPrefix);
    const std::string app_side = concat({"link set lo up\n",
                                         "link add ",
                                         kUplinkName,
                                         " type veth peer name ",
                                         a.provider_interface,
                                         " netns /proc/self/fd/",
                                         std::to_string(link.provider_namespace),
                                         "\n",
                                         "addr add ",
                                         a.gateway,
                                         prefix,
                                         " dev ",
                                         kTapName,
                                         "\n",
                                         "link set ",
                                         kTapName,
                                         " up\n",
                                         "addr add ",
                                         a.app_uplink,
                                         prefix,
                                         " dev ",
                                         kUplinkName,
                                         "\n",
                                         "link set ",
                                         kUplinkName,
                                         " up\n",
                                         "route add default via ",
                                         a.provider,
                                         " dev ",
                                         kUplinkName,
                                         "\n"});
    const std::string provider_side =
        concat({"addr add ", a.provider, prefix, " dev ", a.provider_interface, "\n", "link set ", a.provider_interface,
                " up\n", "route add ", a.guest_subnet, " via ", a.app_uplink, " dev ", a.provider_interface, "\n"});
    auto configured = ip_batch(app_namespace->get(), app_side, link.provider_namespace, "setting up the app's network");
    if (configured)
        configured = ip_batch(link.provider_namespace, provider_side, -1, "connecting the app to the provider");
    if (!configured) {
        undo();
        return fail(configured.error());
    }
    return tap;
}

Result<void> cut_app_link(const std::string& app_namespace) {
    auto namespace_fd = open_network_namespace(app_namespace);
    if (!namespace_fd) return fail(namespace_fd.error());
    RunOptions options;
    options.network_namespace = namespace_fd->get();
    options.timeout_seconds = kToolTimeoutSeconds;
    auto ran = run_program({kIp, "link", "del", "dev", kUplinkName}, options);
    if (!ran) return fail(ran.error());
    // Gone already is cut too.
    auto still = run_program({kIp, "link", "show", "dev", kUplinkName}, options);
    if (still && still->exit_code == 0) return fail(ErrorCode::io, "the app's uplink could not be removed");
    return {};
}

Result<void> tear_down_app_link(const AppLink& link) {
    // The pair goes as one, at once; left to the namespace's end it would linger a while in the
    // provider and block the app's next start.
    delete_link(link.provider_namespace, link.addresses.provider_interface);
    return remove_network_namespace(link.app_namespace);
}

}  // namespace bulkhead::network

// For the boot tests: a program started in the background with its output appended to a log
// file, and files read as they are while a VM is still writing them.
#pragma once

#include <fcntl.h>
#include <spawn.h>

#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/temp_dir.hpp"

extern char** environ;

namespace bulkhead::testing {

// The Secure Boot firmware of the boot tests and its empty (Setup Mode) variable store.
inline const std::string kOvmfCode = "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd";
inline const std::string kOvmfVarsTemplate = "/usr/share/OVMF/OVMF_VARS_4M.fd";

inline pid_t spawn(const std::vector<std::string>& args, const std::string& log) {
    std::vector<char*> argv;
    for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    pid_t pid = -1;
    EXPECT_EQ(posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ), 0) << args[0];
    posix_spawn_file_actions_destroy(&actions);
    return pid;
}

// The file's contents, or "" while it does not exist yet.
inline std::string read_file(const std::filesystem::path& path) {
    std::error_code error;
    return std::filesystem::exists(path, error) ? read_whole_file(path) : std::string();
}

}  // namespace bulkhead::testing

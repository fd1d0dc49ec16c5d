// Shared by the repository tests: in-memory keys, a client that updates from a published tree
// over file://, and a byte-for-byte picture of a directory tree.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "fetch/fetcher.hpp"
#include "support/temp_dir.hpp"
#include "tuf/updater.hpp"
#include "tuf_repo/repository.hpp"

namespace bulkhead::tuf_repo::testing {

namespace fs = std::filesystem;

inline SigningKey new_key(crypto::SignatureScheme scheme = crypto::SignatureScheme::ed25519) {
    auto key = crypto::PrivateKey::generate(scheme);
    return *read_key_file(*write_key_file(*key, std::nullopt), std::nullopt);
}

inline RoleKeySet key_set(std::initializer_list<const SigningKey*> keys, std::int64_t threshold = 1) {
    RoleKeySet set{{}, threshold};
    for (const SigningKey* key : keys) set.keys.push_back(key->identity);
    return set;
}

// Every path below `root` (directories too) with the contents of each file.
inline std::map<std::string, std::string> tree_picture(const fs::path& root) {
    std::map<std::string, std::string> picture;
    for (const fs::directory_entry& entry : fs::recursive_directory_iterator(root)) {
        const std::string relative = entry.path().lexically_relative(root).string();
        picture[relative] =
            entry.is_directory() ? std::string("<dir>") : bulkhead::testing::read_whole_file(entry.path());
    }
    return picture;
}

// A client that trusts `root_file` and updates from DIR/published over file://.
class FileClient {
public:
    FileClient(const fs::path& scratch, const fs::path& published, const fs::path& root_file)
        : scratch_(scratch), published_(published) {
        fs::create_directories(scratch / "metadata");
        fs::create_directories(scratch / "targets");
        fs::copy_file(root_file, scratch / "metadata/root.json", fs::copy_options::overwrite_existing);
    }

    // Refreshes and downloads one target; its contents, or the error.
    Result<std::string> download(const std::string& target) {
        tuf::Updater updater((scratch_ / "metadata").string(), "file://" + (published_ / "metadata/").string(),
                             (scratch_ / "targets").string(), "file://" + (published_ / "targets/").string(),
                             *fetcher_);
        if (auto refreshed = updater.refresh(); !refreshed) return fail(refreshed.error());
        auto info = updater.get_targetinfo(target);
        if (!info) return fail(info.error());
        if (!*info) return fail(ErrorCode::not_found, "no target " + target);
        std::error_code ignored;
        fs::remove_all(scratch_ / "targets", ignored);
        fs::create_directories(scratch_ / "targets");
        auto path = updater.download_target(**info);
        if (!path) return fail(path.error());
        return bulkhead::testing::read_whole_file(*path);
    }

private:
    fs::path scratch_;
    fs::path published_;
    std::unique_ptr<fetch::Fetcher> fetcher_ = fetch::make_fetcher();
};

}  // namespace bulkhead::tuf_repo::testing

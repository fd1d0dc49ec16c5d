// The store configuration: every setting read, defaults where it is silent, and each mistake
// refused with the key and line it is about.
#include "appstore/config.hpp"

#include <gtest/gtest.h>

namespace bulkhead::appstore {
namespace {

const std::string kMinimal = R"(metadata_url = "https://apps.example/metadata/"
targets_url = "file:///media/usb/targets/"
trusted_root = "/etc/bulkhead/appstore/root.json"
[rebuilders]
keys = ["/etc/bulkhead/rebuilders/a.pub"]
)";

TEST(StoreConfig, ReadsEverySetting) {
    const std::string text = R"(metadata_url = "file:///srv/repo/metadata/"
targets_url = "https://apps.example/targets/"
trusted_root = "/etc/bulkhead/appstore/root.json"
state_dir = "/srv/store"
patch_policy = "warn"
package_mirrors = false
proxy = "socks5h://127.0.0.1:9050"
ca_file = "/etc/bulkhead/appstore/ca.pem"
worker_uid = 700000
[rebuilders]
keys = ["/etc/a.pub", "/etc/b.pub", "/etc/c.pub"]
threshold = 2
[apps]
memory_mib = 1024
vcpus = 2
state_disk_mib = 0
)";
    auto config = parse_store_config(text, "store.toml");
    ASSERT_TRUE(config) << config.error().message;
    EXPECT_EQ(config->metadata_url, "file:///srv/repo/metadata/");
    EXPECT_EQ(config->targets_url, "https://apps.example/targets/");
    EXPECT_EQ(config->trusted_root, "/etc/bulkhead/appstore/root.json");
    EXPECT_EQ(config->state_dir, "/srv/store");
    EXPECT_EQ(config->patches, PatchPolicy::warn);
    EXPECT_FALSE(config->use_package_mirrors);
    EXPECT_EQ(config->proxy, "socks5h://127.0.0.1:9050");
    EXPECT_EQ(config->ca_file, "/etc/bulkhead/appstore/ca.pem");
    EXPECT_EQ(config->worker_uid, 700000U);
    EXPECT_EQ(config->rebuilder_keys, (std::vector<std::string>{"/etc/a.pub", "/etc/b.pub", "/etc/c.pub"}));
    EXPECT_EQ(config->rebuilder_threshold, 2U);
    EXPECT_EQ(config->memory_mib, 1024U);
    EXPECT_EQ(config->vcpus, 2U);
    EXPECT_EQ(config->state_disk_mib, 0U);
}

TEST(StoreConfig, DefaultsAreStrict) {
    auto config = parse_store_config(kMinimal, "store.toml");
    ASSERT_TRUE(config) << config.error().message;
    EXPECT_EQ(config->state_dir, "/var/lib/bulkhead/appstore");
    EXPECT_EQ(config->patches, PatchPolicy::require);
    EXPECT_TRUE(config->use_package_mirrors);
    EXPECT_TRUE(config->proxy.empty());
    EXPECT_EQ(config->worker_uid, kDefaultWorkerUid);
    EXPECT_EQ(config->rebuilder_threshold, 1U);
}

TEST(StoreConfig, MistakesAreNamed) {
    const auto refused = [](const std::string& text, const std::string& expected) {
        auto config = parse_store_config(text, "store.toml");
        ASSERT_FALSE(config) << text;
        EXPECT_NE(config.error().message.find(expected), std::string::npos) << config.error().message;
    };
    auto with = [](const std::string& from, const std::string& to) {
        std::string text = kMinimal;
        text.replace(text.find(from), from.size(), to);
        return text;
    };
    refused(with("https://apps.example/metadata/", "https://apps.example/metadata"), "metadata_url");
    refused(with("file:///media/usb/targets/", "ftp://mirror/targets/"), "targets_url");
    refused(with("/etc/bulkhead/appstore/root.json", "root.json"), "trusted_root");
    refused(with("/etc/bulkhead/appstore/root.json", "/etc/../root.json"), "trusted_root");
    refused("colour = \"blue\"\n" + kMinimal, "store.toml:1:1: colour: unknown key");
    refused(kMinimal + "colour = \"blue\"\n", "store.toml:6:1: rebuilders.colour: unknown key");
    refused("proxy = \"socks5://127.0.0.1:9050\"\n" + kMinimal, "proxy: must be socks5h://HOST:PORT");
    refused("proxy = \"socks5h://127.0.0.1:99999\"\n" + kMinimal, "proxy");
    refused("patch_policy = \"sometimes\"\n" + kMinimal, "patch_policy: must be require or warn");
    refused("worker_uid = 0\n" + kMinimal, "worker_uid: must be between 65536");
    refused("package_mirrors = \"yes\"\n" + kMinimal, "package_mirrors");
    refused(kMinimal + "threshold = 2\n", "rebuilders.threshold: must be between 1 and 1");
    refused(with("keys = [\"/etc/bulkhead/rebuilders/a.pub\"]", "keys = []"), "rebuilders.keys");
    refused(with("keys = [\"/etc/bulkhead/rebuilders/a.pub\"]", "keys = [\"a.pub\"]"), "rebuilders.keys");
    refused(kMinimal.substr(0, kMinimal.find("[rebuilders]")), "rebuilders: is required");
    refused(kMinimal + "[apps]\nmemory_mib = 8\n", "apps.memory_mib: must be between 64 and 16384");
    refused("metadata_url = \"https://a/\"\nmetadata_url = \"https://b/\"\n", "store.toml:2");
    refused(std::string(70000, '#'), "larger than 64 KiB");
}

}  // namespace
}  // namespace bulkhead::appstore

// Rebuilder links and the reproducibility policy, checked both ways against Debian's in-toto
// 1.3.1: links that in-toto-run signs are read and verified by our code, and links and layouts
// that our code signs pass (or fail) in-toto-verify exactly when our policy accepts (or refuses).
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <filesystem>

#include <gtest/gtest.h>

#include "attest/layout.hpp"
#include "attest/policy.hpp"
#include "base/text.hpp"
#include "crypto/digest.hpp"
#include "support/run_process.hpp"
#include "support/temp_dir.hpp"

namespace bulkhead::attest {
namespace {

using testing::TempDir;

const std::string kPackage = "demo-1.0-1-x86_64.pkg.tar.zst";
const std::string kContents = "the package's bytes\n";

ArtifactHashes hashes_of(std::string_view data, bool with_sha512 = true) {
    return {crypto::digest(crypto::HashAlgorithm::sha256, data),
            with_sha512 ? crypto::digest(crypto::HashAlgorithm::sha512, data) : std::string()};
}

struct Rebuilder {
    crypto::PrivateKey private_key;
    RebuilderKey key;
};

Rebuilder make_rebuilder() {
    auto private_key = crypto::PrivateKey::generate(crypto::SignatureScheme::ed25519).value();
    auto key = rebuilder_key_from_public_hex(private_key.public_value()).value();
    return {std::move(private_key), std::move(key)};
}

std::string link_for(const Rebuilder& rebuilder, std::string_view data, LinkForm form = LinkForm::rebuilderd,
                     const std::string& file = kPackage) {
    LinkRequest request;
    request.products = {{file, hashes_of(data, form == LinkForm::rebuilderd)}};
    request.materials = {{file, hashes_of(data, form == LinkForm::rebuilderd)}};
    request.command = {"rebuilderd-worker", "build"};
    request.form = form;
    return make_link(request, rebuilder.private_key).value();
}

// Runs argv in `dir`, returning the exit code and the output.
std::pair<int, std::string> run_in(const std::filesystem::path& dir, const std::vector<std::string>& argv) {
    std::array<int, 2> output{};
    if (::pipe2(output.data(), O_CLOEXEC) != 0) return {-1, "pipe2"};
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(output[1], STDOUT_FILENO);
        ::dup2(output[1], STDERR_FILENO);
        if (::chdir(dir.c_str()) != 0) ::_exit(126);
        std::vector<char*> args;
        for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
        args.push_back(nullptr);
        ::execv(args[0], args.data());
        ::_exit(127);
    }
    ::close(output[1]);
    std::string log;
    std::array<char, 4096> buffer{};
    for (ssize_t got = 0; (got = ::read(output[0], buffer.data(), buffer.size())) > 0;) {
        log.append(buffer.data(), static_cast<std::size_t>(got));
    }
    ::close(output[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, log};
}

TEST(RebuilderKeys, KeyidsAreInTotosOwn) {
    // A key written by securesystemslib and the keyid in-toto computes for it.
    auto key = parse_rebuilder_key(
        R"({"keytype": "ed25519", "scheme": "ed25519", "keyid_hash_algorithms": ["sha256", "sha512"], )"
        R"("keyval": {"public": "0398e6dcb7b5406ad56ff4f38b8e4a4a62de8c9d789268ee0dd8cf30d01ca79f"}})");
    ASSERT_TRUE(key) << key.error().message;
    EXPECT_EQ(key->keyid, "1a0c935e811ac725f33db23f2d75f3b12afbb8a1abfcd857363a53c2b4eb5742");
    EXPECT_EQ(link_file_name("rebuild", key->keyid), "rebuild.1a0c935e.link");

    const auto refused = [](std::string_view text, std::string_view part) {
        auto result = parse_rebuilder_key(text);
        ASSERT_FALSE(result) << text;
        EXPECT_NE(result.error().message.find(part), std::string::npos) << result.error().message;
    };
    const std::string good_public =
        R"("keyval": {"public": "0398e6dcb7b5406ad56ff4f38b8e4a4a62de8c9d789268ee0dd8cf30d01ca79f"})";
    refused(R"({"keytype": "rsa", "scheme": "rsassa-pss-sha256", )" + good_public + "}",
            "only keytype and scheme ed25519");
    refused(R"({"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": "0398"}})", "64 lower-case hex");
    refused(R"({"keytype": "ed25519", "scheme": "ed25519", "keyid": "00ff", )" + good_public + "}",
            "its keyid is not the one");
    refused(R"({"keytype": "ed25519", "scheme": "ed25519", "extra": 1, )" + good_public + "}", "unknown field 'extra'");
    refused(
        R"({"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": "0398e6dcb7b5406ad56ff4f38b8e4a4a62de8c9d789268ee0dd8cf30d01ca79f", "private": "00"}})",
        "unknown field 'private'");
}

TEST(Links, ReadsAndVerifiesWhatInTotoRunSigns) {
    TempDir dir;
    ASSERT_EQ(run_in(dir.path(), {"/usr/bin/in-toto-keygen", "-t", "ed25519", "rebuilder"}).first, 0);
    dir.write(kPackage, kContents);
    const auto [status, log] = run_in(dir.path(), {"/usr/bin/in-toto-run", "-n", "rebuild", "-k", "rebuilder", "-t",
                                                   "ed25519", "-p", kPackage, "--", "true"});
    ASSERT_EQ(status, 0) << log;
    auto key = parse_rebuilder_key(testing::read_whole_file(dir.path() / "rebuilder.pub"));
    ASSERT_TRUE(key) << key.error().message;
    const auto link_text = testing::read_whole_file(dir.path() / link_file_name("rebuild", key->keyid));
    auto link = parse_link(link_text);
    ASSERT_TRUE(link) << link.error().message << "\n" << link_text;
    EXPECT_EQ(link->name, "rebuild");
    EXPECT_EQ(link->command, (std::vector<std::string>{"true"}));
    EXPECT_EQ(link->products.at(kPackage), hashes_of(kContents, false));
    EXPECT_EQ(valid_signers(*link, {*key}), (std::vector<std::string>{key->keyid}));
    auto evidence = check_reproducible({{*key}, 1}, kPackage, hashes_of(kContents), {link_text});
    ASSERT_TRUE(evidence) << evidence.error().message;
    // One changed byte of what was signed, and the signature no longer holds.
    auto changed = link_text;
    changed.replace(changed.find("\"true\""), 6, "\"tru3\"");
    EXPECT_TRUE(valid_signers(parse_link(changed).value(), {*key}).empty());
}

TEST(Links, RefusesMalformedLinks) {
    const auto rebuilder = make_rebuilder();
    const auto good = link_for(rebuilder, kContents);
    ASSERT_TRUE(parse_link(good));
    EXPECT_TRUE(parse_link(good)->environment_null);
    const auto refused = [](const std::string& text, std::string_view part) {
        auto result = parse_link(text);
        ASSERT_FALSE(result) << text;
        EXPECT_NE(result.error().message.find(part), std::string::npos) << result.error().message;
    };
    const auto replaced = [&](std::string_view from, std::string_view to) {
        auto text = good;
        const auto at = text.find(from);
        EXPECT_NE(at, std::string::npos) << from;
        return text.replace(at, from.size(), to);
    };
    refused(replaced("\"_type\":\"link\"", "\"_type\":\"layout\""), "_type is not \"link\"");
    refused(replaced("\"environment\":null", "\"environment\":[]"), "neither an object nor null");
    refused(replaced("\"environment\":null,", ""), "has no 'environment'");
    refused(replaced("\"byproducts\":{}", "\"byproducts\":{},\"extra\":1"), "unknown field 'extra'");
    refused(replaced("\"command\":[", "\"command\":[1,"), "not a string");
    refused(replaced("\"sha256\":\"", "\"md5\":\"00\",\"sha256\":\""), "unknown field 'md5'");
    refused(replaced("\"signatures\":[{", "\"signatures\":[],\"x\":[{"), "");
    refused(replaced("\"" + kPackage + "\":{\"sha256\"", "\"./" + kPackage + "\":{\"sha256\""), "plain relative path");
    refused("{\"signatures\":[],\"signed\":{}}", "has no '_type'");
    refused(good.substr(0, good.size() / 2), "link:");
    refused(std::string(kMaxLinkBytes + 1, ' '), "larger than 1 MiB");
}

class Policy : public ::testing::Test {
protected:
    Policy() {
        for (int i = 0; i < 3; ++i) rebuilders_.push_back(make_rebuilder());
        for (const auto& rebuilder : rebuilders_) policy_.keys.push_back(rebuilder.key);
        policy_.threshold = 2;
    }

    Result<ReproducibilityEvidence> check(const std::vector<std::string>& links,
                                          std::string_view delivered = kContents) const {
        return check_reproducible(policy_, kPackage, hashes_of(delivered), links);
    }

    std::vector<Rebuilder> rebuilders_;
    RebuilderPolicy policy_;
};

TEST_F(Policy, AcceptsAThresholdOfAgreeingTrustedRebuilders) {
    auto evidence = check({link_for(rebuilders_[0], kContents), link_for(rebuilders_[2], kContents)});
    ASSERT_TRUE(evidence) << evidence.error().message;
    auto expected = std::vector<std::string>{rebuilders_[0].key.keyid, rebuilders_[2].key.keyid};
    std::sort(expected.begin(), expected.end());
    EXPECT_EQ(evidence->agreeing_keyids, expected);
    // The in-toto form (sha256 only, environment {}) counts the same.
    EXPECT_TRUE(check({link_for(rebuilders_[0], kContents, LinkForm::in_toto_1),
                       link_for(rebuilders_[1], kContents, LinkForm::in_toto_1)}));
}

TEST_F(Policy, RefusesFewerThanTheThreshold) {
    auto result = check({link_for(rebuilders_[0], kContents)});
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, ErrorCode::not_signed);
    EXPECT_NE(result.error().message.find("only 1 of the required 2 trusted rebuilders reproduced " + kPackage),
              std::string::npos)
        << result.error().message;
    // The same rebuilder twice is still one rebuilder.
    auto twice = check({link_for(rebuilders_[1], kContents), link_for(rebuilders_[1], kContents)});
    ASSERT_FALSE(twice);
    EXPECT_EQ(twice.error().code, ErrorCode::not_signed);
    EXPECT_FALSE(check({}));
}

TEST_F(Policy, DoesNotCountUnknownKeysOrOtherFiles) {
    const auto stranger = make_rebuilder();
    auto result = check({link_for(rebuilders_[0], kContents), link_for(stranger, kContents)});
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, ErrorCode::not_signed);
    EXPECT_NE(result.error().message.find("no valid signature by a trusted rebuilder key (signed by " +
                                          stranger.key.keyid.substr(0, 8) + ")"),
              std::string::npos)
        << result.error().message;
    auto other_file =
        check({link_for(rebuilders_[0], kContents),
               link_for(rebuilders_[1], kContents, LinkForm::rebuilderd, "other-1.0-1-x86_64.pkg.tar.zst")});
    ASSERT_FALSE(other_file);
    EXPECT_NE(other_file.error().message.find("its products do not include " + kPackage), std::string::npos);
    // Extra links from strangers do not stop an otherwise sufficient set.
    EXPECT_TRUE(check({link_for(rebuilders_[0], kContents), link_for(rebuilders_[1], kContents),
                       link_for(stranger, "something else\n")}));
}

TEST_F(Policy, CountsOnlyRebuildLinks) {
    LinkRequest download;
    download.name = "download";
    download.products = {{kPackage, hashes_of(kContents)}};
    auto result = check({link_for(rebuilders_[0], kContents), make_link(download, rebuilders_[1].private_key).value()});
    ASSERT_FALSE(result);
    EXPECT_NE(result.error().message.find("its step is 'download', not a rebuild of " + kPackage), std::string::npos)
        << result.error().message;
    LinkRequest named;
    named.name = "rebuild " + kPackage;  // rebuilderd's name for the step
    named.products = {{kPackage, hashes_of(kContents)}};
    EXPECT_TRUE(check({link_for(rebuilders_[0], kContents), make_link(named, rebuilders_[1].private_key).value()}));
    EXPECT_EQ(attestation_target(kPackage, rebuilders_[0].key.keyid),
              "attestations/" + kPackage + "/" + rebuilders_[0].key.keyid + ".link");
    EXPECT_TRUE(is_keyid(rebuilders_[0].key.keyid));
    EXPECT_FALSE(is_keyid(rebuilders_[0].key.keyid.substr(0, 8)));
}

TEST_F(Policy, RefusesWhenATrustedRebuilderDisagrees) {
    auto result = check({link_for(rebuilders_[0], kContents), link_for(rebuilders_[1], kContents),
                         link_for(rebuilders_[2], "a different build\n")});
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, ErrorCode::integrity);
    EXPECT_NE(result.error().message.find("rebuilders disagree on " + kPackage), std::string::npos);
    // A tampered delivery disagrees with every rebuilder.
    auto tampered = check({link_for(rebuilders_[0], kContents), link_for(rebuilders_[1], kContents)}, "tampered\n");
    ASSERT_FALSE(tampered);
    EXPECT_EQ(tampered.error().code, ErrorCode::integrity);
}

TEST_F(Policy, RefusesBadPolicies) {
    RebuilderPolicy none;
    EXPECT_FALSE(check_policy(none));
    auto too_high = policy_;
    too_high.threshold = 4;
    EXPECT_FALSE(check_policy(too_high));
    auto zero = policy_;
    zero.threshold = 0;
    EXPECT_FALSE(check_policy(zero));
    auto duplicate = policy_;
    duplicate.keys.push_back(duplicate.keys.front());
    EXPECT_FALSE(check_policy(duplicate));
}

// Our links and layout, checked by in-toto-verify in a directory that holds only the package.
class InTotoVerify : public Policy {
protected:
    int verify(const std::vector<std::string>& links, std::string_view delivered, std::string* log) {
        TempDir dir;
        const auto work = dir.mkdir("work");
        const auto meta = dir.mkdir("meta");
        dir.write("work/" + kPackage, delivered);
        const auto layout_key = crypto::PrivateKey::generate(crypto::SignatureScheme::ed25519).value();
        const auto layout = make_rebuild_layout(policy_, kPackage, 4102444800, layout_key);  // 2100-01-01
        EXPECT_TRUE(layout) << layout.error().message;
        dir.write("meta/root.layout", *layout);
        dir.write("meta/layout.pub", public_key_file(layout_key.public_value()));
        for (const auto& link : links) {
            const auto parsed = parse_link(link).value();
            dir.write("meta/" + link_file_name("rebuild", parsed.signatures.front().keyid), link);
        }
        auto [status, output] =
            run_in(work, {"/usr/bin/in-toto-verify", "-l", (meta / "root.layout").string(), "-k",
                          (meta / "layout.pub").string(), "-t", "ed25519", "--link-dir", meta.string()});
        *log = output;
        return status;
    }
};

TEST_F(InTotoVerify, AgreesWithOurPolicy) {
    const auto form = LinkForm::in_toto_1;
    struct Case {
        std::string what;
        std::vector<std::string> links;
        std::string delivered;
    };
    const auto stranger = make_rebuilder();
    const std::vector<Case> cases = {
        {"two of three agree",
         {link_for(rebuilders_[0], kContents, form), link_for(rebuilders_[1], kContents, form)},
         kContents},
        {"all three agree",
         {link_for(rebuilders_[0], kContents, form), link_for(rebuilders_[1], kContents, form),
          link_for(rebuilders_[2], kContents, form)},
         kContents},
        {"only one", {link_for(rebuilders_[0], kContents, form)}, kContents},
        {"one trusted, one stranger",
         {link_for(rebuilders_[0], kContents, form), link_for(stranger, kContents, form)},
         kContents},
        {"a trusted rebuilder disagrees",
         {link_for(rebuilders_[0], kContents, form), link_for(rebuilders_[1], kContents, form),
          link_for(rebuilders_[2], "other\n", form)},
         kContents},
        {"tampered delivery",
         {link_for(rebuilders_[0], kContents, form), link_for(rebuilders_[1], kContents, form)},
         "evil\n"},
    };
    for (const auto& [what, links, delivered] : cases) {
        std::string log;
        const int status = verify(links, delivered, &log);
        const auto ours = check(links, delivered);
        EXPECT_EQ(status == 0, ours.has_value()) << what << ": in-toto-verify exit " << status << "\n"
                                                 << log << "\nours: " << (ours ? "accepted" : ours.error().message);
        EXPECT_TRUE(status == 0 || status == 1) << what << ": " << log;
    }
}

}  // namespace
}  // namespace bulkhead::attest

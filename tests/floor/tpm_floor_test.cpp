// The anti-rollback floor in a real TPM 2.0 (swtpm): provisioned and raised through ESAPI, read
// back by the initrd's reader program (bulkhead-tpm-floor, through its report line) and by
// tpm2-tools as an independent reader, kept across TPM
// restarts, never lowered, and refused when the indices are not what the design expects.
#include "floor/tpm_floor.hpp"

#include <unistd.h>

#include <gtest/gtest.h>

#include "base/text.hpp"
#include "support/run_process.hpp"
#include "support/swtpm.hpp"
#include "support/temp_dir.hpp"
#include "tpm/floor_reading.hpp"

namespace bulkhead::floor {
namespace {

using testing::run_process;
using testing::Swtpm;
using testing::TempDir;

const std::string kCounter = hex(tpm::floor_counter_index);
const std::string kBase = hex(tpm::floor_base_index);

class TpmFloorTest : public ::testing::Test {
protected:
    TempDir dir;
    Swtpm swtpm{dir.path() / "tpm"};

    TpmFloor open() {
        auto opened = TpmFloor::open(swtpm.tcti());
        if (!opened) ADD_FAILURE() << opened.error().message;
        return std::move(opened).value();
    }

    // The initrd's reader program on the same TPM, its report parsed as the initrd parses it;
    // a reader that fails reports its error on stderr and exits 1.
    Result<tpm::FloorReading> reader_read() {
        auto result = run_process({std::string(BULKHEAD_BIN_DIR) + "/bulkhead-tpm-floor", "--tcti", swtpm.tcti()});
        if (result.exit_code != 0) {
            EXPECT_EQ(result.exit_code, 1) << result.err;
            EXPECT_TRUE(result.out.empty()) << result.out;
            return fail(ErrorCode::io, result.err);
        }
        return tpm::parse_floor_report(result.out);
    }

    // tpm2-tools, run with the index's own (empty) authorization like our readers.
    std::string tools(std::vector<std::string> argv) {
        argv.insert(argv.begin() + 1, {"-T", swtpm.tcti()});
        auto result = run_process(argv);
        EXPECT_EQ(result.exit_code, 0) << argv[0] << ": " << result.err;
        return result.out;
    }
    std::uint64_t tools_read(const std::string& index) {
        const std::string raw = tools({"/usr/bin/tpm2_nvread", "-C", index, "-s", "8", index});
        EXPECT_EQ(raw.size(), 8U);
        std::uint64_t value = 0;
        for (const char byte : raw) value = value << 8U | static_cast<unsigned char>(byte);
        return value;
    }
};

TEST_F(TpmFloorTest, AFreshTpmReadsAsNotProvisionedByBothReaders) {
    {
        TpmFloor floor = open();
        auto reading = floor.read();
        ASSERT_TRUE(reading) << reading.error().message;
        EXPECT_FALSE(reading->provisioned);
        EXPECT_EQ(reading->floor, 0U);
    }
    auto raw = reader_read();
    ASSERT_TRUE(raw) << raw.error().message;
    EXPECT_FALSE(raw->provisioned);
}

TEST_F(TpmFloorTest, RaisesOnlyUpwardAndAllReadersAgree) {
    {
        TpmFloor floor = open();
        auto provisioned = floor.provision();
        ASSERT_TRUE(provisioned) << provisioned.error().message;
        EXPECT_TRUE(provisioned->provisioned);
        EXPECT_EQ(provisioned->floor, 0U);
        auto again = floor.provision();  // idempotent
        ASSERT_TRUE(again) << again.error().message;
        EXPECT_EQ(again->counter, provisioned->counter);

        auto raised = floor.raise_to(2);
        ASSERT_TRUE(raised) << raised.error().message;
        EXPECT_EQ(raised->floor, 2U);
        auto lower = floor.raise_to(1);
        ASSERT_TRUE(lower) << lower.error().message;
        EXPECT_EQ(lower->floor, 2U) << "the floor went down";
        auto huge = floor.raise_to(2 + max_floor_step + 1);
        ASSERT_FALSE(huge);
        EXPECT_EQ(huge.error().code, ErrorCode::invalid_argument);
    }
    auto raw = reader_read();
    ASSERT_TRUE(raw) << raw.error().message;
    EXPECT_TRUE(raw->provisioned);
    EXPECT_EQ(raw->floor, 2U);
    EXPECT_EQ(tools_read(kCounter) - tools_read(kBase), 2U);
    EXPECT_EQ(tools_read(kCounter), raw->counter);

    // The base is locked for good: not even the owner can write it.
    const std::string zeros = (dir.path() / "zeros").string();
    dir.write("zeros", std::string(8, '\0'));
    auto write = run_process({"/usr/bin/tpm2_nvwrite", "-T", swtpm.tcti(), "-C", "o", "-i", zeros, kBase});
    EXPECT_NE(write.exit_code, 0) << "the locked floor base could be written";

    swtpm.restart();  // a reboot of the machine
    auto after = reader_read();
    ASSERT_TRUE(after) << after.error().message;
    EXPECT_EQ(after->floor, 2U);
    TpmFloor floor = open();
    auto reread = floor.read();
    ASSERT_TRUE(reread) << reread.error().message;
    EXPECT_EQ(reread->floor, 2U);
}

TEST_F(TpmFloorTest, ACounterStartsAboveDeletedOnesSoTheBaseKeepsTheFloorAtZero) {
    // Someone used this handle for a counter before, counted to 5 and deleted it: a new counter
    // starts above 5, which a floor read straight from the counter would take as the floor.
    tools({"/usr/bin/tpm2_nvdefine", "-C", "o", "-s", "8", "-a", "nt=counter|ownerwrite|authread|no_da", kCounter});
    for (int i = 0; i < 5; ++i) tools({"/usr/bin/tpm2_nvincrement", "-C", "o", kCounter});
    tools({"/usr/bin/tpm2_nvundefine", "-C", "o", kCounter});

    TpmFloor floor = open();
    auto reading = floor.provision();
    ASSERT_TRUE(reading) << reading.error().message;
    EXPECT_GT(reading->counter, 5U);
    EXPECT_EQ(reading->floor, 0U);
}

TEST_F(TpmFloorTest, ProvisioningResumesAfterACrashBetweenSteps) {
    // What a crash after the counter's first increment leaves: a counter and no base.
    tools({"/usr/bin/tpm2_nvdefine", "-C", "o", "-s", "8", "-a", "nt=counter|ownerwrite|authread|no_da", kCounter});
    tools({"/usr/bin/tpm2_nvincrement", "-C", "o", kCounter});
    auto half = reader_read();
    ASSERT_TRUE(half) << half.error().message;
    EXPECT_FALSE(half->provisioned);

    {
        TpmFloor floor = open();
        auto reading = floor.raise_to(1);
        ASSERT_TRUE(reading) << reading.error().message;
        EXPECT_TRUE(reading->provisioned);
        EXPECT_EQ(reading->floor, 1U);
    }
    auto raw = reader_read();
    ASSERT_TRUE(raw) << raw.error().message;
    EXPECT_EQ(raw->floor, 1U);
}

TEST_F(TpmFloorTest, IndicesWithOtherAttributesAreRefused) {
    // A writable ordinary index at the counter's handle would let anyone set the floor.
    tools({"/usr/bin/tpm2_nvdefine", "-C", "o", "-s", "8", "-a", "ownerwrite|authwrite|authread|no_da", kCounter});
    TpmFloor floor = open();
    auto reading = floor.provision();
    ASSERT_FALSE(reading);
    EXPECT_EQ(reading.error().code, ErrorCode::integrity);
    EXPECT_NE(reading.error().message.find("floor counter"), std::string::npos) << reading.error().message;
    auto raised = floor.raise_to(1);
    ASSERT_FALSE(raised);
}

TEST_F(TpmFloorTest, ABaseAboveTheCounterStopsBothReaders) {
    {
        TpmFloor floor = open();
        ASSERT_TRUE(floor.provision());
    }
    // Tampering as root with the empty owner authorization (the documented residual risk):
    // the base is replaced by one above the counter.
    tools({"/usr/bin/tpm2_nvundefine", "-C", "o", kBase});
    tools({"/usr/bin/tpm2_nvdefine", "-C", "o", "-s", "8", "-a", "ownerwrite|authread|no_da|writedefine|writeall",
           kBase});
    dir.write("big", std::string("\x7f\xff\xff\xff\xff\xff\xff\xff", 8));
    tools({"/usr/bin/tpm2_nvwrite", "-C", "o", "-i", (dir.path() / "big").string(), kBase});
    auto raw = reader_read();
    ASSERT_FALSE(raw);
    EXPECT_EQ(raw.error().code, ErrorCode::integrity);
    TpmFloor floor = open();
    auto reading = floor.read();
    ASSERT_FALSE(reading);
    EXPECT_EQ(reading.error().code, ErrorCode::integrity);
}

TEST(TpmFloorOpen, AnUnreachableTpmIsAClearError) {
    auto opened = TpmFloor::open("device:/nonexistent/tpmrm0");
    ASSERT_FALSE(opened);
    EXPECT_NE(opened.error().message.find("/nonexistent/tpmrm0"), std::string::npos) << opened.error().message;
}

}  // namespace
}  // namespace bulkhead::floor

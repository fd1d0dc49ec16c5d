#include "control/frame.hpp"

#include <gtest/gtest.h>

namespace bulkhead::control {
namespace {

std::string frame_bytes(MessageType type, const std::string& payload) {
    auto bytes = encode_frame({type, payload});
    EXPECT_TRUE(bytes);
    return *bytes;
}

TEST(ControlFrame, EncodesTheDocumentedLayout) {
    EXPECT_EQ(frame_bytes(MessageType::log, "hi"), std::string("BH\x01\x86\x00\x00\x00\x02hi", 10));
    EXPECT_FALSE(encode_frame({MessageType::log, std::string(kMaxPayload + 1, 'x')}));
}

TEST(ControlFrame, DecodesFramesArrivingOneByteAtATime) {
    const std::string stream = frame_bytes(MessageType::ping, "12345678") + frame_bytes(MessageType::log, "");
    FrameDecoder decoder;
    std::vector<Frame> frames;
    for (const char byte : stream) {
        decoder.feed(std::string_view(&byte, 1));
        for (;;) {
            auto next = decoder.next();
            ASSERT_TRUE(next) << next.error().message;
            if (!*next) break;
            frames.push_back(**next);
        }
    }
    ASSERT_EQ(frames.size(), 2U);
    EXPECT_EQ(frames[0].type, MessageType::ping);
    EXPECT_EQ(frames[0].payload, "12345678");
    EXPECT_EQ(frames[1].type, MessageType::log);
    EXPECT_EQ(decoder.buffered(), 0U);
    EXPECT_EQ(decoder.discarded(), 0U);
}

// Drains the decoder: the frames it yields and the number of errors on the way.
std::pair<std::vector<Frame>, int> drain(FrameDecoder& decoder) {
    std::vector<Frame> frames;
    int errors = 0;
    for (int guard = 0; guard < 10000; ++guard) {
        auto next = decoder.next();
        if (!next) {
            ++errors;
            continue;
        }
        if (!*next) break;
        frames.push_back(**next);
    }
    return {frames, errors};
}

TEST(ControlFrame, MalformedFramesAreSkippedAndTheStreamRecovers) {
    const std::string good = frame_bytes(MessageType::pong, "abcdefgh");
    struct Case {
        std::string name;
        std::string garbage;
    };
    const std::vector<Case> cases = {
        {"noise", "xyz"},
        {"wrong version", std::string("BH\x02\x81\x00\x00\x00\x00", 8)},
        {"unknown type", std::string("BH\x01\x7f\x00\x00\x00\x00", 8)},
        {"oversized length", std::string("BH\x01\x86\xff\xff\xff\xff", 8)},
        {"lone B", "B"},
    };
    for (const Case& c : cases) {
        FrameDecoder decoder;
        decoder.feed(c.garbage + good);
        auto [frames, errors] = drain(decoder);
        EXPECT_GE(errors, 1) << c.name;
        ASSERT_EQ(frames.size(), 1U) << c.name;
        EXPECT_EQ(frames[0].payload, "abcdefgh") << c.name;
        EXPECT_GT(decoder.discarded(), 0U) << c.name;
    }
}

TEST(ControlFrame, AnAnnouncedPayloadIsWaitedForNotGuessed) {
    FrameDecoder decoder;
    const std::string frame = frame_bytes(MessageType::output, std::string(1000, 'o'));
    decoder.feed(frame.substr(0, 500));
    auto partial = decoder.next();
    ASSERT_TRUE(partial);
    EXPECT_FALSE(*partial);
    EXPECT_EQ(decoder.buffered(), 500U);
    decoder.feed(frame.substr(500));
    auto whole = decoder.next();
    ASSERT_TRUE(whole && *whole);
    EXPECT_EQ((*whole)->payload.size(), 1000U);
}

}  // namespace
}  // namespace bulkhead::control

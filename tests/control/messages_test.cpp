#include "control/messages.hpp"

#include <gtest/gtest.h>

namespace bulkhead::control {
namespace {

Message round_trip(const Message& message) {
    auto frame = to_frame(message);
    EXPECT_TRUE(frame) << frame.error().message;
    auto back = from_frame(*frame);
    EXPECT_TRUE(back) << back.error().message;
    return *back;
}

TEST(ControlMessages, EveryMessageRoundTrips) {
    EXPECT_EQ(std::get<Ping>(round_trip(Ping{0x0102030405060708})).nonce, 0x0102030405060708U);
    EXPECT_EQ(std::get<Pong>(round_trip(Pong{42})).nonce, 42U);
    EXPECT_TRUE(std::holds_alternative<StatusRequest>(round_trip(StatusRequest{})));
    EXPECT_TRUE(std::holds_alternative<Shutdown>(round_trip(Shutdown{})));
    const auto status = std::get<Status>(round_trip(Status{AppState::running, 17, 123456789}));
    EXPECT_EQ(status.state, AppState::running);
    EXPECT_EQ(status.app_pid, 17U);
    EXPECT_EQ(status.uptime_ms, 123456789U);
    const auto output = std::get<Output>(round_trip(Output{Stream::err, std::string("a\0b", 3)}));
    EXPECT_EQ(output.stream, Stream::err);
    EXPECT_EQ(output.data, std::string("a\0b", 3));
    const auto exited = std::get<Exited>(round_trip(Exited{true, 9, true}));
    EXPECT_TRUE(exited.signalled);
    EXPECT_EQ(exited.code, 9U);
    EXPECT_TRUE(exited.restarting);
    EXPECT_EQ(std::get<Hello>(round_trip(Hello{1, "bulkhead-guest 0.1.0"})).guest_version, "bulkhead-guest 0.1.0");
    EXPECT_EQ(std::get<Log>(round_trip(Log{"mounted /state"})).text, "mounted /state");
}

TEST(ControlMessages, PayloadsAreCheckedStrictly) {
    struct Case {
        Frame frame;
        std::string message;
    };
    const std::vector<Case> cases = {
        {{MessageType::ping, "short"}, "payload is 5 bytes, expected 8"},
        {{MessageType::shutdown, "x"}, "payload is 1 bytes, expected 0"},
        {{MessageType::status, std::string(13, '\x07')}, "unknown app state"},
        {{MessageType::output, std::string("\x03z", 2)}, "unknown stream"},
        {{MessageType::output, std::string("\x01", 1)}, "no data"},
        {{MessageType::exited, std::string("\x00\x00\x00\x01\x00\x00", 6)}, "exit status above 255"},
        {{MessageType::exited, std::string("\x01\x00\x00\x00\x00\x00", 6)}, "signal number outside 1-64"},
        {{MessageType::exited, std::string("\x00\x00\x00\x00\x00\x02", 6)}, "restarting is neither 0 nor 1"},
        {{MessageType::exited, std::string("\x00\x00\x00\x00\x00", 5)}, "payload is 5 bytes, expected 6"},
        {{MessageType::hello, std::string("\x01\x1b[31m", 6)}, "not short printable ASCII"},
        {{MessageType::log, std::string(kMaxLogBytes + 1, 'l')}, "longer than 4096 bytes"},
    };
    for (const Case& c : cases) {
        auto parsed = from_frame(c.frame);
        ASSERT_FALSE(parsed) << c.message;
        EXPECT_NE(parsed.error().message.find(c.message), std::string::npos) << parsed.error().message;
    }
}

TEST(ControlMessages, WhatCannotBeDecodedCannotBeSent) {
    EXPECT_FALSE(encode(Exited{false, 300}));
    EXPECT_FALSE(encode(Output{Stream::out, ""}));
    EXPECT_FALSE(encode(Hello{1, std::string(100, 'v')}));
    auto bytes = encode(Ping{1});
    ASSERT_TRUE(bytes);
    EXPECT_EQ(bytes->size(), kHeaderBytes + 8);
}

}  // namespace
}  // namespace bulkhead::control

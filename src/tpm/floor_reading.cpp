#include "tpm/floor_reading.hpp"

#include <charconv>
#include <string>
#include <vector>

#include "base/text.hpp"

namespace bulkhead::tpm {

namespace {

constexpr std::uint32_t kFormatOne = 0x080;
constexpr std::string_view kReportTag = "bulkhead-floor/1";

bool absent(std::uint32_t rc) {
    const std::uint32_t code = base_response_code(rc);
    return code == rc_handle || code == rc_nv_uninitialized;
}

// Decimal, no sign, no leading zeros, fits 64 bits.
Result<std::uint64_t> parse_count(std::string_view text, std::string_view what) {
    std::uint64_t value = 0;
    const char* end = text.data() + text.size();
    const auto [stop, problem] = std::from_chars(text.data(), end, value);
    if (text.empty() || problem != std::errc{} || stop != end || (text.size() > 1 && text.front() == '0') ||
        text.front() == '+' || text.front() == '-') {
        return fail(ErrorCode::parse, concat({"the floor reader's ", what, " is not a decimal count"}));
    }
    return value;
}

}  // namespace

std::uint32_t base_response_code(std::uint32_t rc) {
    if ((rc & kFormatOne) != 0) return rc & 0xBFU;
    return rc;
}

Result<FloorReading> interpret_floor(const IndexRead& counter, const IndexRead& base) {
    for (const auto& [read, name] : {std::pair{&counter, "counter"}, std::pair{&base, "base"}}) {
        if (read->response_code != rc_success && !absent(read->response_code)) {
            return fail(ErrorCode::io, concat({"the TPM refused to read the floor ", name, " (TPM response code ",
                                               hex(read->response_code), ")"}));
        }
    }
    if (counter.response_code != rc_success || base.response_code != rc_success) return FloorReading{};
    if (base.value > counter.value) {
        return fail(ErrorCode::integrity,
                    concat({"the TPM floor base (", std::to_string(base.value), ") is above its counter (",
                            std::to_string(counter.value), "): the floor was tampered with"}));
    }
    return FloorReading{
        .provisioned = true, .floor = counter.value - base.value, .counter = counter.value, .base = base.value};
}

Result<std::string> floor_report(const IndexRead& counter, const IndexRead& base) {
    // interpret_floor's verdict on errors and absence, without its check of B against C.
    auto interpreted = interpret_floor(counter, IndexRead{.response_code = base.response_code, .value = 0});
    if (!interpreted) return fail(interpreted.error());
    if (!interpreted->provisioned) return concat({kReportTag, " not-provisioned\n"});
    return concat({kReportTag, " provisioned ", std::to_string(counter.value), " ", std::to_string(base.value), "\n"});
}

Result<FloorReading> parse_floor_report(std::string_view report) {
    if (report.size() > max_floor_report_bytes)
        return fail(ErrorCode::too_large, "the floor reader's report is too long");
    if (report.empty() || report.back() != '\n') {
        return fail(ErrorCode::parse, "the floor reader's report is not one whole line");
    }
    report.remove_suffix(1);
    std::vector<std::string_view> words;
    while (!report.empty()) {
        const std::size_t space = report.find(' ');
        words.push_back(report.substr(0, space));
        if (space == std::string_view::npos) break;
        report.remove_prefix(space + 1);
        if (report.empty()) words.emplace_back();  // a trailing space: an empty last word
    }
    if (words.empty() || words.front() != kReportTag) {
        return fail(ErrorCode::parse, concat({"the floor reader's report does not start with ", kReportTag}));
    }
    if (words.size() == 2 && words[1] == "not-provisioned") return FloorReading{};
    if (words.size() != 4 || words[1] != "provisioned") {
        return fail(ErrorCode::parse, "the floor reader's report is neither provisioned C B nor not-provisioned");
    }
    auto counter = parse_count(words[2], "counter");
    if (!counter) return fail(counter.error());
    auto base = parse_count(words[3], "base");
    if (!base) return fail(base.error());
    return interpret_floor({rc_success, *counter}, {rc_success, *base});
}

}  // namespace bulkhead::tpm

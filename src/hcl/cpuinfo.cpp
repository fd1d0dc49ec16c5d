#include "hcl/cpuinfo.hpp"

#include <algorithm>
#include <map>
#include <optional>

namespace bulkhead::hcl {

namespace {

std::string_view trim(std::string_view text) {
    const auto first = text.find_first_not_of(" \t");
    if (first == std::string_view::npos) return {};
    const auto last = text.find_last_not_of(" \t");
    return text.substr(first, last - first + 1);
}

bool is_flag_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.'; }

Failure line_error(std::size_t line_number, const std::string& what) {
    return fail(ErrorCode::parse, "cpuinfo line " + std::to_string(line_number) + ": " + what);
}

using FlagSet = std::set<std::string, std::less<>>;

Result<FlagSet> parse_flags(std::string_view value, std::size_t line_number) {
    FlagSet flags;
    std::size_t pos = 0;
    while (pos < value.size()) {
        if (value[pos] == ' ') {
            ++pos;
            continue;
        }
        const auto end = std::min(value.find(' ', pos), value.size());
        const std::string_view flag = value.substr(pos, end - pos);
        if (!std::all_of(flag.begin(), flag.end(), is_flag_char)) {
            return line_error(line_number, "invalid flag '" + std::string(flag) + "'");
        }
        flags.emplace(flag);
        pos = end;
    }
    return flags;
}

void intersect(FlagSet& into, const FlagSet& other) {
    std::erase_if(into, [&other](const std::string& flag) { return !other.contains(flag); });
}

// One processor block while it is being read.
struct Block {
    std::map<std::string, std::string, std::less<>> fields;
    std::map<std::string, std::size_t, std::less<>> lines;  // where each key appeared
};

}  // namespace

Result<CpuInfo> parse_cpuinfo(std::string_view text) {
    if (text.size() > kMaxCpuinfoBytes) {
        return fail(ErrorCode::too_large, "cpuinfo is larger than " + std::to_string(kMaxCpuinfoBytes) + " bytes");
    }
    if (text.find('\0') != std::string_view::npos) {
        return fail(ErrorCode::parse, "cpuinfo contains a NUL byte");
    }

    CpuInfo info;
    std::optional<FlagSet> flags;
    std::optional<FlagSet> vmx_flags;
    bool any_block_without_vmx_flags = false;

    auto finish_block = [&](Block& block) -> Result<void> {
        if (block.fields.empty()) return {};
        if (++info.processor_count > kMaxProcessors) {
            return fail(ErrorCode::too_large,
                        "cpuinfo lists more than " + std::to_string(kMaxProcessors) + " processors");
        }
        if (info.processor_count == 1) {
            if (auto it = block.fields.find("vendor_id"); it != block.fields.end()) {
                info.vendor_id = it->second;
            }
            if (auto it = block.fields.find("model name"); it != block.fields.end()) {
                info.model_name = it->second;
            }
        }
        FlagSet block_flags;
        if (auto it = block.fields.find("flags"); it != block.fields.end()) {
            auto parsed = parse_flags(it->second, block.lines.at("flags"));
            if (!parsed) return fail(parsed.error());
            block_flags = std::move(*parsed);
            info.has_flags_line = true;
        }
        if (flags) {
            intersect(*flags, block_flags);
        } else {
            flags = std::move(block_flags);
        }
        if (auto it = block.fields.find("vmx flags"); it != block.fields.end()) {
            auto parsed = parse_flags(it->second, block.lines.at("vmx flags"));
            if (!parsed) return fail(parsed.error());
            if (vmx_flags) {
                intersect(*vmx_flags, *parsed);
            } else {
                vmx_flags = std::move(*parsed);
            }
        } else {
            any_block_without_vmx_flags = true;
        }
        block = Block{};
        return {};
    };

    Block block;
    std::size_t line_number = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
        const auto newline = text.find('\n', pos);
        const auto end = newline == std::string_view::npos ? text.size() : newline;
        const std::string_view line = text.substr(pos, end - pos);
        pos = end + 1;
        ++line_number;

        if (line.size() > kMaxCpuinfoLineBytes) return line_error(line_number, "line too long");
        if (trim(line).empty()) {
            if (auto done = finish_block(block); !done) return fail(done.error());
            continue;
        }
        const auto colon = line.find(':');
        if (colon == std::string_view::npos) {
            return line_error(line_number, "expected 'key : value'");
        }
        const std::string_view key = trim(line.substr(0, colon));
        const std::string_view value = trim(line.substr(colon + 1));
        if (key.empty()) return line_error(line_number, "empty key");
        if (block.fields.empty()) {
            if (key != "processor") {
                return line_error(line_number,
                                  "a processor block must start with 'processor', not '" + std::string(key) + "'");
            }
            if (value.empty() ||
                !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
                return line_error(line_number, "processor number is not a number");
            }
        }
        if (!block.fields.emplace(std::string(key), std::string(value)).second) {
            return line_error(line_number, "duplicate key '" + std::string(key) + "'");
        }
        block.lines.emplace(std::string(key), line_number);
    }
    if (auto done = finish_block(block); !done) return fail(done.error());

    if (info.processor_count == 0) return fail(ErrorCode::parse, "cpuinfo lists no processors");
    if (flags) info.flags = std::move(*flags);
    if (vmx_flags && !any_block_without_vmx_flags) info.vmx_flags = std::move(*vmx_flags);
    return info;
}

}  // namespace bulkhead::hcl

#include "daemon_client.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/file_io.hpp"
#include "base/unique_fd.hpp"
#include "json/parse.hpp"
#include "json/write.hpp"

namespace bulkhead::cmd {

namespace {

constexpr std::size_t kMaxResponseBytes = std::size_t{4} << 20;

}  // namespace

Result<json::Value> call_bulkheadd(const std::string& socket_path, const json::Value& request) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (socket_path.size() >= sizeof address.sun_path) return fail(ErrorCode::invalid_argument, "socket path too long");
    std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
    if (!fd.valid() || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        return fail(Error::from_errno(errno, "connecting to bulkheadd at " + socket_path + " (is it running?)"));
    }
    // Sent without SIGPIPE: a daemon that refuses us closes the connection, and its refusal is
    // what we then read.
    const std::string line = json::to_json(request) + "\n";
    for (std::size_t sent = 0; sent < line.size();) {
        const ssize_t put = ::send(fd.get(), line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
        if (put <= 0) break;
        sent += static_cast<std::size_t>(put);
    }
    (void)::shutdown(fd.get(), SHUT_WR);
    auto bytes = read_fd_bounded(fd.get(), kMaxResponseBytes, "bulkheadd's response");
    if (!bytes) return fail(bytes.error());
    const std::size_t end = bytes->find('\n');
    auto response = json::parse(std::string_view(*bytes).substr(0, end));
    if (!response || !response->is_object())
        return fail(ErrorCode::parse, "bulkheadd sent a response that is not JSON");
    const json::Value* ok = response->find("ok");
    if (ok == nullptr || !ok->is_bool()) return fail(ErrorCode::parse, "bulkheadd's response has no \"ok\"");
    if (!ok->as_bool()) {
        const json::Value* error = response->find("error");
        const json::Value* message = error != nullptr ? error->find("message") : nullptr;
        const json::Value* code = error != nullptr ? error->find("code") : nullptr;
        const auto named =
            code != nullptr && code->is_string() ? error_code_from_name(code->as_string()) : std::nullopt;
        return fail(named.value_or(ErrorCode::invalid_argument),
                    message != nullptr && message->is_string() ? message->as_string() : "bulkheadd refused");
    }
    return response;
}

}  // namespace bulkhead::cmd

#include "tpm/transport.hpp"

#include <poll.h>
#include <unistd.h>

#include <array>
#include <cerrno>

#include "base/file_io.hpp"
#include "tpm/nv_read.hpp"

namespace bulkhead::tpm {

Result<std::string> transact(int fd, std::string_view command, int timeout_ms) {
    if (auto written = write_all(fd, command, "the TPM"); !written) return fail(written.error());
    std::string response;
    std::array<char, max_response_size> buffer{};
    std::size_t wanted = 10;
    while (response.size() < wanted) {
        pollfd ready{.fd = fd, .events = POLLIN, .revents = 0};
        const int polled = ::poll(&ready, 1, timeout_ms);
        if (polled < 0) {
            if (errno == EINTR) continue;
            return fail(Error::from_errno(errno, "waiting for the TPM"));
        }
        if (polled == 0) return fail(ErrorCode::timeout, "the TPM did not answer in time");
        // Never read past this response: the device keeps no second one, and a stream would
        // lose the start of the next.
        const ssize_t got = ::read(fd, buffer.data(), wanted - response.size());
        if (got < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            return fail(Error::from_errno(errno, "reading from the TPM"));
        }
        if (got == 0) return fail(ErrorCode::io, "the TPM closed the connection in the middle of a response");
        response.append(buffer.data(), static_cast<std::size_t>(got));
        if (wanted == 10 && response.size() >= 10) {
            auto size = response_size(response);
            if (!size) return fail(size.error());
            wanted = *size;
        }
    }
    return response;
}

}  // namespace bulkhead::tpm

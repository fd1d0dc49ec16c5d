#include "floor/tpm_floor.hpp"

#include <cstdlib>
#include <optional>
#include <utility>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "base/text.hpp"

namespace bulkhead::floor {

namespace {

constexpr TPMA_NV kCounterAttributes = (static_cast<TPMA_NV>(TPM2_NT_COUNTER) << TPMA_NV_TPM2_NT_SHIFT) |
                                       TPMA_NV_OWNERWRITE | TPMA_NV_AUTHREAD | TPMA_NV_NO_DA;
// WRITEDEFINE makes the write lock permanent: the base can never be written again, only
// undefined with owner authorization (the residual risk in docs/UPDATES.md).
constexpr TPMA_NV kBaseAttributes = (static_cast<TPMA_NV>(TPM2_NT_ORDINARY) << TPMA_NV_TPM2_NT_SHIFT) |
                                    TPMA_NV_OWNERWRITE | TPMA_NV_AUTHREAD | TPMA_NV_NO_DA | TPMA_NV_WRITEDEFINE |
                                    TPMA_NV_WRITEALL;
constexpr TPMA_NV kStateAttributes = TPMA_NV_WRITTEN | TPMA_NV_WRITELOCKED;
constexpr TSS2_RC kLayerMask = 0xFF0000U;

Error tpm_error(TSS2_RC rc, std::string_view doing) {
    return Error{ErrorCode::io, concat({doing, ": ", Tss2_RC_Decode(rc), " (", hex(rc), ")"})};
}

// A TPM-layer code that says the index does not exist.
bool no_such_index(TSS2_RC rc) { return (rc & kLayerMask) == 0 && tpm::base_response_code(rc) == tpm::rc_handle; }

std::string index_name(TPM2_HANDLE index) {
    return concat({index == tpm::floor_counter_index ? "the floor counter " : "the floor base ", hex(index)});
}

}  // namespace

struct TpmFloor::Context {
    TSS2_TCTI_CONTEXT* tcti = nullptr;
    ESYS_CONTEXT* esys = nullptr;

    Context() = default;
    Context(const Context&) = delete;
    Context& operator=(const Context&) = delete;
    Context(Context&&) = delete;
    Context& operator=(Context&&) = delete;
    ~Context() {
        if (esys != nullptr) Esys_Finalize(&esys);
        if (tcti != nullptr) Tss2_TctiLdr_Finalize(&tcti);
    }

    // An ESAPI handle for an NV index, closed when it goes out of scope.
    class Index {
    public:
        Index(ESYS_CONTEXT* esys, ESYS_TR handle) : esys_(esys), handle_(handle) {}
        Index(const Index&) = delete;
        Index& operator=(const Index&) = delete;
        Index(Index&& other) noexcept
            : esys_(other.esys_), handle_(std::exchange(other.handle_, static_cast<ESYS_TR>(ESYS_TR_NONE))) {}
        Index& operator=(Index&&) = delete;
        ~Index() {
            if (handle_ != ESYS_TR_NONE) Esys_TR_Close(esys_, &handle_);
        }
        [[nodiscard]] ESYS_TR get() const { return handle_; }

    private:
        ESYS_CONTEXT* esys_;
        ESYS_TR handle_;
    };

    // The index, or nullopt when the TPM has none at that handle.
    Result<std::optional<Index>> find(TPM2_HANDLE index) const {
        ESYS_TR handle = ESYS_TR_NONE;
        const TSS2_RC rc = Esys_TR_FromTPMPublic(esys, index, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &handle);
        if (no_such_index(rc)) return std::optional<Index>{};
        if (rc != TSS2_RC_SUCCESS) return fail(tpm_error(rc, concat({"looking up ", index_name(index)})));
        return std::optional<Index>{Index(esys, handle)};
    }

    Result<Index> define(TPM2_HANDLE index, TPMA_NV attributes) const {
        TPM2B_NV_PUBLIC public_info{};
        public_info.nvPublic.nvIndex = index;
        public_info.nvPublic.nameAlg = TPM2_ALG_SHA256;
        public_info.nvPublic.attributes = attributes;
        public_info.nvPublic.dataSize = 8;
        const TPM2B_AUTH empty_auth{};
        ESYS_TR handle = ESYS_TR_NONE;
        const TSS2_RC rc = Esys_NV_DefineSpace(esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                                               &empty_auth, &public_info, &handle);
        if (rc != TSS2_RC_SUCCESS) return fail(tpm_error(rc, concat({"defining ", index_name(index)})));
        return Index(esys, handle);
    }

    // The index's attributes, after checking everything but its state bits against `expected`.
    Result<TPMA_NV> checked_attributes(const Index& handle, TPM2_HANDLE index, TPMA_NV expected) const {
        TPM2B_NV_PUBLIC* public_info = nullptr;
        TPM2B_NAME* name = nullptr;
        const TSS2_RC rc =
            Esys_NV_ReadPublic(esys, handle.get(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &public_info, &name);
        if (rc != TSS2_RC_SUCCESS)
            return fail(tpm_error(rc, concat({"reading the definition of ", index_name(index)})));
        const TPMS_NV_PUBLIC nv = public_info->nvPublic;
        Esys_Free(public_info);
        Esys_Free(name);
        if ((nv.attributes & ~kStateAttributes) != expected || nv.dataSize != 8 || nv.authPolicy.size != 0 ||
            nv.nameAlg != TPM2_ALG_SHA256) {
            return fail(ErrorCode::integrity,
                        concat({index_name(index), " exists with attributes ", hex(nv.attributes), " and size ",
                                std::to_string(nv.dataSize), ", not the ones the floor needs (", hex(expected),
                                ", 8): another program uses this index, or it was tampered with"}));
        }
        return nv.attributes;
    }

    Result<tpm::IndexRead> read_index(TPM2_HANDLE index) const {
        auto handle = find(index);
        if (!handle) return fail(handle.error());
        if (!handle->has_value()) return tpm::IndexRead{.response_code = tpm::rc_handle, .value = 0};
        TPM2B_MAX_NV_BUFFER* data = nullptr;
        const TSS2_RC rc = Esys_NV_Read(esys, (*handle)->get(), (*handle)->get(), ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                        ESYS_TR_NONE, 8, 0, &data);
        if ((rc & kLayerMask) == 0 && rc != TSS2_RC_SUCCESS) return tpm::IndexRead{.response_code = rc, .value = 0};
        if (rc != TSS2_RC_SUCCESS) return fail(tpm_error(rc, concat({"reading ", index_name(index)})));
        tpm::IndexRead read{.response_code = tpm::rc_success, .value = 0};
        const bool whole = data->size == 8;
        for (std::size_t i = 0; i < data->size && i < 8; ++i) read.value = read.value << 8U | data->buffer[i];
        Esys_Free(data);
        if (!whole) return fail(ErrorCode::integrity, concat({index_name(index), " did not read as 8 bytes"}));
        return read;
    }

    // The two indices the floor is made of, in that order.
    Result<std::pair<tpm::IndexRead, tpm::IndexRead>> read_counter_and_base() const {
        auto counter = read_index(tpm::floor_counter_index);
        if (!counter) return fail(counter.error());
        auto base = read_index(tpm::floor_base_index);
        if (!base) return fail(base.error());
        return std::pair{*counter, *base};
    }

    Result<void> increment(const Index& counter) const {
        const TSS2_RC rc =
            Esys_NV_Increment(esys, ESYS_TR_RH_OWNER, counter.get(), ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE);
        if (rc != TSS2_RC_SUCCESS) return fail(tpm_error(rc, "incrementing the floor counter"));
        return {};
    }
};

TpmFloor::TpmFloor(std::unique_ptr<Context> context) : context_(std::move(context)) {}
TpmFloor::TpmFloor(TpmFloor&&) noexcept = default;
TpmFloor& TpmFloor::operator=(TpmFloor&&) noexcept = default;
TpmFloor::~TpmFloor() = default;

Result<TpmFloor> TpmFloor::open(const std::string& tcti) {
    // tpm2-tss logs every TPM error it passes on, including the "no such index" this code
    // expects; our own messages say what failed. An explicit TSS2_LOG still wins.
    (void)::setenv("TSS2_LOG", "all+NONE", 0);  // NOLINT(concurrency-mt-unsafe): before any thread uses the TSS
    auto context = std::make_unique<Context>();
    TSS2_RC rc = Tss2_TctiLdr_Initialize(tcti.c_str(), &context->tcti);
    if (rc != TSS2_RC_SUCCESS) return fail(tpm_error(rc, concat({"opening the TPM through '", tcti, "'"})));
    rc = Esys_Initialize(&context->esys, context->tcti, nullptr);
    if (rc != TSS2_RC_SUCCESS) return fail(tpm_error(rc, "starting ESAPI"));
    return TpmFloor(std::move(context));
}

Result<tpm::FloorReading> TpmFloor::read() {
    auto reads = context_->read_counter_and_base();
    if (!reads) return fail(reads.error());
    return tpm::interpret_floor(reads->first, reads->second);
}

Result<std::string> TpmFloor::report() {
    auto reads = context_->read_counter_and_base();
    if (!reads) return fail(reads.error());
    return tpm::floor_report(reads->first, reads->second);
}

Result<tpm::FloorReading> TpmFloor::provision() {
    const Context& tpm_context = *context_;
    auto counter = tpm_context.find(tpm::floor_counter_index);
    if (!counter) return fail(counter.error());
    if (!counter->has_value()) {
        auto defined = tpm_context.define(tpm::floor_counter_index, kCounterAttributes);
        if (!defined) return fail(defined.error());
        counter->emplace(std::move(*defined));
    }
    auto counter_state = tpm_context.checked_attributes(**counter, tpm::floor_counter_index, kCounterAttributes);
    if (!counter_state) return fail(counter_state.error());
    // A counter reads only after its first increment, which also fixes its starting value.
    if ((*counter_state & TPMA_NV_WRITTEN) == 0) {
        if (auto incremented = tpm_context.increment(**counter); !incremented) return fail(incremented.error());
    }

    auto base = tpm_context.find(tpm::floor_base_index);
    if (!base) return fail(base.error());
    if (!base->has_value()) {
        auto defined = tpm_context.define(tpm::floor_base_index, kBaseAttributes);
        if (!defined) return fail(defined.error());
        base->emplace(std::move(*defined));
    }
    auto base_state = tpm_context.checked_attributes(**base, tpm::floor_base_index, kBaseAttributes);
    if (!base_state) return fail(base_state.error());
    if ((*base_state & TPMA_NV_WRITTEN) == 0) {
        // Only reached before the floor was ever raised (raise_to provisions first), so the
        // counter's current value is its starting value and the floor starts at 0.
        auto value = tpm_context.read_index(tpm::floor_counter_index);
        if (!value) return fail(value.error());
        if (value->response_code != tpm::rc_success) {
            return fail(ErrorCode::io, concat({"the floor counter cannot be read (TPM response code ",
                                               hex(value->response_code), ")"}));
        }
        TPM2B_MAX_NV_BUFFER data{};
        data.size = 8;
        for (int i = 0; i < 8; ++i) data.buffer[i] = static_cast<BYTE>(value->value >> (8 * (7 - i)));
        const TSS2_RC rc = Esys_NV_Write(tpm_context.esys, ESYS_TR_RH_OWNER, (*base)->get(), ESYS_TR_PASSWORD,
                                         ESYS_TR_NONE, ESYS_TR_NONE, &data, 0);
        if (rc != TSS2_RC_SUCCESS) return fail(tpm_error(rc, "writing the floor base"));
    }
    if ((*base_state & TPMA_NV_WRITELOCKED) == 0) {
        const TSS2_RC rc = Esys_NV_WriteLock(tpm_context.esys, ESYS_TR_RH_OWNER, (*base)->get(), ESYS_TR_PASSWORD,
                                             ESYS_TR_NONE, ESYS_TR_NONE);
        if (rc != TSS2_RC_SUCCESS) return fail(tpm_error(rc, "locking the floor base"));
    }
    return read();
}

Result<tpm::FloorReading> TpmFloor::raise_to(std::uint64_t security_version) {
    auto reading = provision();
    if (!reading) return fail(reading.error());
    if (security_version <= reading->floor) return reading;
    if (security_version - reading->floor > max_floor_step) {
        return fail(ErrorCode::invalid_argument,
                    concat({"raising the floor from ", std::to_string(reading->floor), " to ",
                            std::to_string(security_version), " is a step of more than ",
                            std::to_string(max_floor_step), "; security versions grow one at a time"}));
    }
    auto counter = context_->find(tpm::floor_counter_index);
    if (!counter) return fail(counter.error());
    if (!counter->has_value()) return fail(ErrorCode::integrity, "the floor counter vanished while raising the floor");
    for (std::uint64_t floor = reading->floor; floor < security_version; ++floor) {
        if (auto incremented = context_->increment(**counter); !incremented) return fail(incremented.error());
    }
    return read();
}

}  // namespace bulkhead::floor

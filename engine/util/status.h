// Error values for the engine API. Nothing in the engine throws across its public API or aborts
// the process: every fallible call returns a Status or a Result<T> that carries a message a user
// can read ("ref.gguf: tensor 'blk.0.attn_q.weight' data ends at byte 1234 past the file end 1000").
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace hearth {

class [[nodiscard]] Status {
public:
    Status() = default;  // success
    static Status error(std::string message) { Status s; s.msg_ = std::move(message); s.failed_ = true; return s; }

    bool ok() const { return !failed_; }
    explicit operator bool() const { return ok(); }
    const std::string& message() const { return msg_; }
    const Status& status() const { return *this; }  // lets HEARTH_RETURN_IF_ERROR take a Status too

private:
    std::string msg_;
    bool failed_ = false;
};

inline Status make_error(std::string message) { return Status::error(std::move(message)); }

template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::move(value)) {}                 // NOLINT(implicit)
    Result(Status error) : v_(std::move(error)) {}            // NOLINT(implicit); must be an error

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T* operator->() { return &std::get<0>(v_); }
    const T* operator->() const { return &std::get<0>(v_); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    Status status() const { return ok() ? Status() : std::get<1>(v_); }
    const std::string& message() const { static const std::string empty; return ok() ? empty : std::get<1>(v_).message(); }

private:
    std::variant<T, Status> v_;
};

}  // namespace hearth

// Return early from a function returning Status or Result<U> when `expr` (a Status or Result) failed.
#define HEARTH_RETURN_IF_ERROR(expr)                      \
    do {                                                  \
        auto _hearth_st = (expr);                         \
        if (!_hearth_st.ok()) return _hearth_st.status(); \
    } while (0)

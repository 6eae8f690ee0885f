// status.h — BlazeDB's error values: Status and Result<T>.
//
// Every fallible call in the public API returns a Status or a Result<T>;
// nothing is thrown across include/. Both are [[nodiscard]]: to drop one on
// purpose, call .IgnoreError(). Status and Result are plain values; they are
// safe to copy and move between threads (no shared state).
#ifndef BLAZE_STATUS_H_
#define BLAZE_STATUS_H_

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace blaze {

// The one catalogue of error codes. The CLI maps them to exit codes
// (docs/cli.md); keep the two in step when adding one.
enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument,     // bad input from the caller: JSON, query, id, document
  kNotFound,            // a record, database file or collection does not exist
  kAlreadyExists,       // create of something that is already there
  kCorruption,          // bytes on disk or on the wire are not what they must be
  kIOError,             // the operating system or SQLite failed to read/write
  kNotSupported,        // e.g. a file written by a newer format version
  kFailedPrecondition,  // the object is not in a state that allows the call
  kBusy,                // the database is locked by another writer too long
  kAborted,             // a transaction body asked to roll back
  kInternal,            // a broken invariant inside BlazeDB (a bug)
  kPermissionDenied,    // an identity or policy forbids the call (e.g. a write an export policy refuses)
};

// Returns a stable lower-case name such as "not found".
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
  static Status Corruption(std::string m) { return {StatusCode::kCorruption, std::move(m)}; }
  static Status IOError(std::string m) { return {StatusCode::kIOError, std::move(m)}; }
  static Status NotSupported(std::string m) { return {StatusCode::kNotSupported, std::move(m)}; }
  static Status FailedPrecondition(std::string m) { return {StatusCode::kFailedPrecondition, std::move(m)}; }
  static Status Busy(std::string m) { return {StatusCode::kBusy, std::move(m)}; }
  static Status Aborted(std::string m) { return {StatusCode::kAborted, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
  static Status PermissionDenied(std::string m) { return {StatusCode::kPermissionDenied, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  bool IsNotFound() const { return code_ == StatusCode::kNotFound; }

  // "not found: record 'x' does not exist in collection 'bugs'"
  std::string ToString() const;

  // Returns a copy whose message is prefixed with `context + ": "`.
  Status WithContext(std::string_view context) const;

  // Explicitly discards the status.
  void IgnoreError() const {}

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Either a T or a non-OK Status. Accessing the value of an error is a bug
// (asserted in debug builds).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}                       // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) { assert(!std::get<Status>(v_).ok()); }  // NOLINT

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(v_);
  }
  T& value() & { assert(ok()); return std::get<T>(v_); }
  const T& value() const& { assert(ok()); return std::get<T>(v_); }
  T&& value() && { assert(ok()); return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  void IgnoreError() const {}

 private:
  std::variant<T, Status> v_;
};

}  // namespace blaze

// Propagates a non-OK Status from an expression returning Status.
#define BLAZE_RETURN_IF_ERROR(expr)                 \
  do {                                              \
    ::blaze::Status blaze_status_ = (expr);         \
    if (!blaze_status_.ok()) return blaze_status_;  \
  } while (0)

#define BLAZE_CONCAT_INNER_(a, b) a##b
#define BLAZE_CONCAT_(a, b) BLAZE_CONCAT_INNER_(a, b)
// Declares `lhs` from a Result expression, or returns its Status.
#define BLAZE_ASSIGN_OR_RETURN(lhs, expr) \
  BLAZE_ASSIGN_OR_RETURN_IMPL_(BLAZE_CONCAT_(blaze_result_, __LINE__), lhs, expr)
#define BLAZE_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp).value()

#endif  // BLAZE_STATUS_H_

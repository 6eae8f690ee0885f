// document.h — what a record document may hold, and RFC 7396 merge patch.
//
// A document is a map whose keys are UTF-8 and not "_id" (the id lives
// beside the document); strings are UTF-8; doubles are finite (JSON has no
// NaN or infinity); nesting is at most kMaxDocumentDepth; no map's only key
// is "$bytes" (that shape is how bytes appear in JSON). Thread-safe.
#ifndef BLAZE_STORE_DOCUMENT_H_
#define BLAZE_STORE_DOCUMENT_H_

#include <string_view>

#include "blaze/status.h"
#include "blaze/value.h"

namespace blaze::store {

inline constexpr int kMaxDocumentDepth = 48;

// kInvalidArgument naming the offending field path when `doc` is not a valid document.
Status ValidateDocument(const Value& doc);
// The same rules for the fields of a put operation (from a remote change).
Status ValidateFields(const Value::Map& fields);
// Same rules for a merge patch (nulls allowed anywhere: they remove).
Status ValidatePatch(const Value& patch);
// Validates a collection name: 1..256 bytes of UTF-8.
Status ValidateCollectionName(std::string_view name);

// RFC 7396 MergePatch applied to one field's current value (`target` null
// when the field is absent): maps merge recursively, null members remove.
Value MergePatchValue(const Value* target, const Value& patch);

}  // namespace blaze::store

#endif  // BLAZE_STORE_DOCUMENT_H_

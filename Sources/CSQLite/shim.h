// SQLite's C API (Debian: libsqlite3-dev puts sqlite3.h on the default include path), plus what Swift
// cannot import by itself: SQLITE_TRANSIENT is a macro casting -1 to a function pointer, which the Clang
// importer drops, so it is handed over by an inline function instead.
#ifndef ANOMALY_CLUSTERING_CSQLITE_SHIM_H
#define ANOMALY_CLUSTERING_CSQLITE_SHIM_H
#include <sqlite3.h>

/// SQLITE_TRANSIENT: tells sqlite3_bind_text/blob to copy the bytes before returning, so the Swift buffer
/// they came from may go away as soon as the call returns.
static inline sqlite3_destructor_type csqlite_transient(void) {
    return SQLITE_TRANSIENT;
}
#endif

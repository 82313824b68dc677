//go:build !nochdb

// With the engine, purego's dlopen makes the binary dynamic: libc, libdl,
// libpthread and the glibc loader (deploy/Dockerfile.demo).
package chdb

import (
	"fmt"
	"os"

	"github.com/ebitengine/purego"
)

func load() error {
	loadOnce.Do(func() {
		path := LibraryPath()
		if _, err := os.Stat(path); err != nil {
			loadErr = fmt.Errorf("%w at %s: install it with `scripts/install-chdb.sh` (run from the repository; it prints the path), or set CHDB_LIB_PATH to an existing libchdb.so", ErrLibraryMissing, path)
			return
		}
		lib, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_GLOBAL)
		if err != nil {
			loadErr = fmt.Errorf("%w: load %s: %v", ErrLibraryMissing, path, err)
			return
		}
		purego.RegisterLibFunc(&cConnect, lib, "chdb_connect")
		purego.RegisterLibFunc(&cClose, lib, "chdb_close_conn")
		purego.RegisterLibFunc(&cQuery, lib, "chdb_query")
		purego.RegisterLibFunc(&cDestroy, lib, "chdb_destroy_query_result")
		purego.RegisterLibFunc(&cResultBuffer, lib, "chdb_result_buffer")
		purego.RegisterLibFunc(&cResultLength, lib, "chdb_result_length")
		purego.RegisterLibFunc(&cResultError, lib, "chdb_result_error")
		purego.RegisterLibFunc(&cResultRowsRead, lib, "chdb_result_rows_read")
	})
	return loadErr
}

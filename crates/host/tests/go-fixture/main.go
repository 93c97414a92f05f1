// A proxy-wasm plugin written in Go with the standard library only, built the way
// Higress's Go plugins are (GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared): the
// host tests run it for many requests so Go's garbage collector runs many times inside
// the host (it calls WASI poll_oneoff, which a host must answer).
//
// It keeps a pending timer, as real plugins do (wasm-go, any context with a deadline): with
// one, Go's runtime polls with poll_oneoff each time it restarts the world after a GC. Per
// request it allocates a few KiB kept for a few requests (every 1000th request, 32 MiB
// dropped at once), and answers with `x-go-fixture: <n>` (n counts this VM's requests).
// A request header `x-go-gc` adds `x-go-gc: <GC cycles so far>`; `x-go-echo` is copied
// into `x-go-echo` of the response.
package main

import (
	"runtime"
	"strconv"
	"time"
	"unsafe"
)

func main() {}

//go:wasmimport env proxy_log
func proxyLog(level uint32, msg unsafe.Pointer, size uint32) uint32

//go:wasmimport env proxy_add_header_map_value
func proxyAddHeaderMapValue(mapType uint32, key unsafe.Pointer, keyLen uint32, value unsafe.Pointer, valueLen uint32) uint32

//go:wasmimport env proxy_get_header_map_value
func proxyGetHeaderMapValue(mapType uint32, key unsafe.Pointer, keyLen uint32, retPtr unsafe.Pointer, retLen unsafe.Pointer) uint32

const (
	logInfo         = 2
	requestHeaders  = 0
	responseHeaders = 2
	statusOk        = 0
	actionContinue  = 0
)

// Memory handed to the host by proxy_on_memory_allocate, kept reachable until the next
// callback starts: the host holds the only pointer to it while a hostcall is running.
var handedOut [][]byte

// Garbage per request, kept for a few requests so the heap has live data to mark.
var recent [16][]byte
var requests int

// What a stream asked for in its request headers (read there: the response phase no
// longer sees them).
type asked struct {
	echo    string
	hasEcho bool
	gc      bool
}

var streams = map[uint32]asked{}

// A timer far in the future, as a cache expiry would be.
var expiry *time.Timer

func log(msg string) {
	proxyLog(logInfo, unsafe.Pointer(unsafe.StringData(msg)), uint32(len(msg)))
}

func str(s string) (unsafe.Pointer, uint32) {
	if s == "" {
		return nil, 0
	}
	return unsafe.Pointer(unsafe.StringData(s)), uint32(len(s))
}

func addHeader(mapType uint32, key, value string) {
	k, kl := str(key)
	v, vl := str(value)
	proxyAddHeaderMapValue(mapType, k, kl, v, vl)
}

func header(mapType uint32, key string) (string, bool) {
	var ptr, size uint32
	k, kl := str(key)
	if proxyGetHeaderMapValue(mapType, k, kl, unsafe.Pointer(&ptr), unsafe.Pointer(&size)) != statusOk {
		return "", false
	}
	if size == 0 {
		return "", true
	}
	return string(unsafe.Slice((*byte)(unsafe.Pointer(uintptr(ptr))), size)), true
}

//go:wasmexport proxy_abi_version_0_2_1
func proxyAbiVersion() {}

//go:wasmexport proxy_on_memory_allocate
func proxyOnMemoryAllocate(size uint32) uint32 {
	buf := make([]byte, size+1)
	handedOut = append(handedOut, buf)
	return uint32(uintptr(unsafe.Pointer(&buf[0])))
}

func callback() {
	clear(handedOut)
	handedOut = handedOut[:0]
}

//go:wasmexport proxy_on_vm_start
func proxyOnVmStart(rootID, size uint32) uint32 {
	callback()
	log("go fixture: vm started")
	expiry = time.AfterFunc(time.Hour, func() {})
	return 1
}

//go:wasmexport proxy_on_configure
func proxyOnConfigure(rootID, size uint32) uint32 {
	callback()
	return 1
}

//go:wasmexport proxy_on_context_create
func proxyOnContextCreate(contextID, rootID uint32) {
	callback()
}

//go:wasmexport proxy_on_request_headers
func proxyOnRequestHeaders(contextID, headers, endOfStream uint32) uint32 {
	callback()
	requests++
	garbage := make([]byte, 4096+requests%4096)
	garbage[len(garbage)-1] = byte(requests)
	recent[requests%len(recent)] = garbage
	if requests%1000 == 0 {
		// Now and then a burst the heap grows for and gives back: the scavenger's work.
		burst := make([]byte, 32<<20)
		for i := 0; i < len(burst); i += 4096 {
			burst[i] = byte(requests)
		}
	}
	var a asked
	a.echo, a.hasEcho = header(requestHeaders, "x-go-echo")
	_, a.gc = header(requestHeaders, "x-go-gc")
	streams[contextID] = a
	return actionContinue
}

//go:wasmexport proxy_on_response_headers
func proxyOnResponseHeaders(contextID, headers, endOfStream uint32) uint32 {
	callback()
	addHeader(responseHeaders, "x-go-fixture", strconv.Itoa(requests))
	a := streams[contextID]
	if a.hasEcho {
		addHeader(responseHeaders, "x-go-echo", a.echo)
	}
	if a.gc {
		var stats runtime.MemStats
		runtime.ReadMemStats(&stats)
		addHeader(responseHeaders, "x-go-gc", strconv.FormatUint(uint64(stats.NumGC), 10))
	}
	return actionContinue
}

//go:wasmexport proxy_on_log
func proxyOnLog(contextID uint32) {
	callback()
}

//go:wasmexport proxy_on_done
func proxyOnDone(contextID uint32) uint32 {
	callback()
	return 1
}

//go:wasmexport proxy_on_delete
func proxyOnDelete(contextID uint32) {
	callback()
	delete(streams, contextID)
}

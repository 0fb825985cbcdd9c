//go:build !cgo

package tee

import "fmt"

// Without cgo ego's enclave package does not build: the sgx kind is
// refused, simulation still works.

func newSGX(Config) (TEE, error) {
	return nil, fmt.Errorf("%w: sgx needs cgo", ErrUnsupported)
}

func verifySGX([]byte) (Claims, error) {
	return Claims{}, fmt.Errorf("%w: sgx needs cgo", ErrUnsupported)
}

package store

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"
)

// The cost of encryption at rest on the store alone, plain against
// encrypted in the same run: go test ./cocobackend/store -run - -bench Crypt
func BenchmarkCryptWrite(b *testing.B) {
	for _, enc := range []bool{false, true} {
		b.Run(fmt.Sprintf("encrypted=%t", enc), func(b *testing.B) {
			opts := Options{CacheMiB: 64}
			if enc {
				opts.Keys, opts.Identity = newTestKeys(1), "bench"
			}
			db := openTestDB(b, b.TempDir(), opts)
			val := make([]byte, 200)
			key := make([]byte, 32)
			b.SetBytes(int64(len(val) + len(key)))
			b.ResetTimer()
			batch := db.NewBatch()
			for i := 0; i < b.N; i++ {
				binary.BigEndian.PutUint64(key, rand.Uint64())
				binary.BigEndian.PutUint64(val, uint64(i))
				batch.Put(key, val)
				if batch.ValueSize() > 1<<20 {
					if err := batch.Write(); err != nil {
						b.Fatal(err)
					}
					batch.Reset()
				}
			}
			if err := batch.Write(); err != nil {
				b.Fatal(err)
			}
		})
	}
}

func BenchmarkCryptRead(b *testing.B) {
	const n = 200_000
	for _, enc := range []bool{false, true} {
		b.Run(fmt.Sprintf("encrypted=%t", enc), func(b *testing.B) {
			opts := Options{CacheMiB: 16} // small: most reads reach the files
			if enc {
				opts.Keys, opts.Identity = newTestKeys(1), "bench"
			}
			db := openTestDB(b, b.TempDir(), opts)
			val := make([]byte, 200)
			batch := db.NewBatch()
			for i := 0; i < n; i++ {
				batch.Put(binary.BigEndian.AppendUint64(nil, uint64(i)*7919), val)
			}
			if err := batch.Write(); err != nil {
				b.Fatal(err)
			}
			if err := db.Compact(nil, nil); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := db.Get(binary.BigEndian.AppendUint64(nil, uint64(rand.IntN(n))*7919)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

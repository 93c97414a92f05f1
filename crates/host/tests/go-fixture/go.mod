module higress-rust-plugins/go-fixture

go 1.24

//! `uniffi-bindgen`: generates the Kotlin and Swift bindings from the built library
//! (`generate --library target/debug/libdashkeep_ffi.so --language kotlin --out-dir DIR`).

fn main() {
    uniffi::uniffi_bindgen_main()
}

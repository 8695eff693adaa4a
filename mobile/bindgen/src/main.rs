//! The uniffi binding generator, pinned to the uniffi version the library is built with.
//! `scripts/bindings` runs it; its own crate, so the library never links the generator.

fn main() {
    uniffi::uniffi_bindgen_main()
}

#![no_main]
// Any object name either becomes a safe identifier (which can never leave the warehouse
// directory) or is refused; it never panics.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let raw = String::from_utf8_lossy(data);
    if let Ok(name) = lakeport_pool::table_name_from(&raw) {
        lakeport_pool::validate_identifier("table", &name).expect("a sanitised name is a valid identifier");
        assert!(!name.contains('/') && !name.contains('.') && name.len() <= 128);
    }
});

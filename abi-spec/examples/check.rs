fn main() {
    let path = std::env::args().nth(1).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    match proxy_wasm_abi_spec::parse(&path, &text) {
        Ok(abi) => println!("ok: {} functions", abi.functions.len()),
        Err(e) => println!("{e}"),
    }
}

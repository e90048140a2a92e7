//! Uses bindings that its build script generated from an extended description.

/// The guest bindings of `host_extras` (standard v0.2.1 plus the extension).
pub mod abi {
    include!(concat!(env!("OUT_DIR"), "/proxy_wasm_guest.rs"));
}

/// Only the enums and the codec.
pub mod enums {
    include!(concat!(env!("OUT_DIR"), "/proxy_wasm_enums.rs"));
}

/// A plugin that implements one callback the extension adds.
pub struct Plugin;

impl abi::Callbacks for Plugin {
    fn proxy_validate_configuration(_root_context_id: u32, configuration_size: usize) -> bool {
        configuration_size < 1024
    }
}

#[cfg(test)]
mod tests {
    use super::abi::Callbacks;
    use super::*;

    #[test]
    fn the_extension_reaches_the_generated_code() {
        assert_eq!(abi::ABI_VERSION, "0.2.1");
        assert!(Plugin::proxy_validate_configuration(1, 10));
        assert!(!Plugin::proxy_validate_configuration(1, 4096));
        // A callback the extension adds, with its default.
        assert_eq!(
            Plugin::proxy_on_request_metadata(2, 0),
            abi::Action::Continue
        );
        assert_eq!(
            enums::Status::try_from(enums::RawStatus(1)),
            Ok(enums::Status::NotFound)
        );
    }
}

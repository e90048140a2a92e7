// `#[derive(AbiEnum)]` on enums that match the spec, and the generated
// conversions at run time.
#![deny(warnings)]

use proxy_wasm_abi_macros::AbiEnum;

/// Names map by case and underscores; no `#[repr]` is needed.
#[derive(AbiEnum, Debug, Clone, Copy, PartialEq, Eq)]
#[abi(enum = "proxy_status_t", version = "0.2.1")]
enum Status {
    Ok = 0,
    NotFound = 1,
    BadArgument = 2,
    SerializationFailure = 3,
    ParseFailure = 4,
    InvalidMemoryAccess = 6,
    Empty = 7,
    CasMismatch = 8,
    InternalFailure = 10,
    Unimplemented = 12,
}

/// Renamed variants, keys in any order, hex and suffixed literals, a repr.
#[derive(AbiEnum, Debug, Clone, Copy, PartialEq, Eq)]
#[abi(version = "v0.2.1", enum = "proxy_log_level_t")]
#[repr(u32)]
enum Level {
    #[abi(name = "TRACE")]
    Finest = 0,
    Debug = 1,
    Info = 0x2,
    #[abi(name = "WARN")]
    Warning = 3u32,
    Error = 4,
    Critical = 5,
}

/// An enum that changed across versions, checked against the old one.
#[derive(AbiEnum, Debug, PartialEq, Eq)]
#[abi(enum = "proxy_buffer_type_t", version = "0.1.0")]
enum OldBufferType {
    HttpRequestBody = 0,
    HttpResponseBody = 1,
    DownstreamData = 2,
    UpstreamData = 3,
    HttpCallResponseBody = 4,
    GrpcCallMessage = 5,
}

fn main() {
    assert_eq!(Status::ABI_NAME, "proxy_status_t");
    assert_eq!(Level::ABI_NAME, "proxy_log_level_t");
    assert_eq!(OldBufferType::ABI_NAME, "proxy_buffer_type_t");

    assert_eq!(Status::try_from(0), Ok(Status::Ok));
    assert_eq!(Status::try_from(12), Ok(Status::Unimplemented));
    // Values hosts send but the enum lacks come back as the error.
    for unknown in [5, 9, 11, 13, u32::MAX] {
        assert_eq!(Status::try_from(unknown), Err(unknown));
    }
    assert_eq!(u32::from(Status::CasMismatch), 8);

    assert_eq!(Level::try_from(3), Ok(Level::Warning));
    assert_eq!(u32::from(Level::Finest), 0);
    assert_eq!(Level::try_from(6), Err(6));

    assert_eq!(u32::from(OldBufferType::GrpcCallMessage), 5);
    assert_eq!(OldBufferType::try_from(6), Err(6));

    // Every value round-trips.
    for value in 0..=12 {
        if let Ok(status) = Status::try_from(value) {
            assert_eq!(u32::from(status), value);
        }
    }
}

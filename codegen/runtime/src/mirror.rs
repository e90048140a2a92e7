//! What `#[derive(AbiEnum)]` records about an SDK's own enum, so that
//! `#[hostcalls]` and `#[exports]` can check an enum they only see by name.
//!
//! A proc-macro on an `extern "C"` block sees `MapType` as a bare path: it
//! cannot tell which spec enum that type mirrors, or whether it is
//! `#[repr(u32)]`. The derive writes both down as trait impls, and the
//! attribute macros emit trait bounds on the types they meet, so the
//! compiler joins the two:
//!
//! - [`Mirrors<E>`]: the type mirrors the spec enum `E`, one of the marker
//!   types in [`spec`] (`spec::proxy_map_type_t`).
//! - [`ReprU32`]: the type is `#[repr(u32)]`, so passing it by value across
//!   `extern "C"` passes a `u32`.
//!
//! Neither says anything about values the *host* produces: a Rust enum
//! received from the host is undefined behaviour as soon as the host sends a
//! value without a variant, so the attribute macros report those shapes
//! instead of bounding them.

/// A marker type that stands for one enum of the description.
pub trait SpecEnum {
    /// The enum's name in the description, e.g. `proxy_map_type_t`.
    const NAME: &'static str;
}

/// Declares the markers and the list of their names from one list, so the
/// two cannot disagree.
macro_rules! spec_enums {
    ($($(#[$meta:meta])* $name:ident,)*) => {
        /// One uninhabited marker type per enum of the standard description,
        /// named as the description names it.
        #[allow(non_camel_case_types)]
        pub mod spec {
            $(
                $(#[$meta])*
                #[derive(Debug)]
                pub enum $name {}

                impl super::SpecEnum for $name {
                    const NAME: &'static str = stringify!($name);
                }
            )*
        }

        /// The names of every marker in [`spec`], in the description's order.
        pub const SPEC_ENUMS: &[&str] = &[$(stringify!($name)),*];
    };
}

spec_enums! {
    /// `proxy_log_level_t`.
    proxy_log_level_t,
    /// `proxy_status_t`.
    proxy_status_t,
    /// `proxy_action_t`.
    proxy_action_t,
    /// `proxy_buffer_type_t`.
    proxy_buffer_type_t,
    /// `proxy_map_type_t`.
    proxy_map_type_t,
    /// `proxy_peer_type_t`.
    proxy_peer_type_t,
    /// `proxy_stream_type_t`.
    proxy_stream_type_t,
    /// `proxy_metric_type_t`.
    proxy_metric_type_t,
    /// `wasi_errno_t`.
    wasi_errno_t,
    /// `wasi_fd_id_t`.
    wasi_fd_id_t,
    /// `wasi_clock_id_t`.
    wasi_clock_id_t,
}

/// The Rust enum mirrors the spec enum `E`: each of its variants has the
/// name and value of a variant of `E` (checked by `#[derive(AbiEnum)]`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not mirror `{E}`",
    label = "the ABI passes `{E}` here",
    note = "mirror it with `#[derive(AbiEnum)]` and `#[abi(enum = \"...\", version = \"...\")]` naming this enum, or declare the value as `u32`"
)]
pub trait Mirrors<E: SpecEnum> {}

/// The type is `#[repr(u32)]`, so a value of it crosses `extern "C"` as a
/// `u32`.
///
/// # Safety
///
/// Implement it only for a fieldless enum with `#[repr(u32)]`;
/// `#[derive(AbiEnum)]` does so when it sees the attribute.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is passed by value across `extern \"C\"` but is not `#[repr(u32)]`",
    label = "the ABI passes a u32 here",
    note = "add `#[repr(u32)]` to the enum, or declare the value as `u32`"
)]
pub unsafe trait ReprU32 {}

/// Compiles only when `T` may be passed by value where the ABI passes the
/// spec enum `E`. `#[hostcalls]` and `#[exports]` name it on each SDK enum
/// they meet in a parameter the plugin produces.
pub const fn passed_as<E: SpecEnum, T: Mirrors<E> + ReprU32>() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_marker_is_listed_under_its_own_name() {
        assert_eq!(spec::proxy_status_t::NAME, "proxy_status_t");
        assert_eq!(spec::wasi_clock_id_t::NAME, "wasi_clock_id_t");
        assert_eq!(SPEC_ENUMS.len(), 11);
        assert!(SPEC_ENUMS.contains(&spec::proxy_map_type_t::NAME));
    }
}

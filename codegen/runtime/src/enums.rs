//! ABI enums: a `#[repr(transparent)]` newtype that carries any `u32` across
//! the boundary, and a Rust enum of the values one version defines.

use core::fmt;

/// An enum value that an ABI version does not define.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UnknownValue {
    /// The ABI type, e.g. `proxy_status_t`.
    pub type_name: &'static str,
    /// The value received.
    pub value: u32,
}

impl fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} is not a value of {}", self.value, self.type_name)
    }
}

impl core::error::Error for UnknownValue {}

/// A Rust enum that mirrors an ABI enum of one version.
///
/// Generated enums implement it; code that is generic over enums (the host
/// shims, the SDK checks) decodes and encodes through it.
pub trait AbiEnum: Copy + Sized + 'static {
    /// The ABI type, e.g. `proxy_status_t`.
    const ABI_TYPE: &'static str;

    /// Every value the version defines, in description order.
    const ALL: &'static [Self];

    /// The value as it crosses the boundary.
    fn to_raw(self) -> u32;

    /// The variant whose value is `raw`, if the version defines one.
    fn from_raw(raw: u32) -> Option<Self>;

    /// The name the specification uses, e.g. `NOT_FOUND`.
    fn abi_name(self) -> &'static str;

    /// Like [`AbiEnum::from_raw`], with the error a caller can report.
    fn decode(raw: u32) -> Result<Self, UnknownValue> {
        Self::from_raw(raw).ok_or(UnknownValue {
            type_name: Self::ABI_TYPE,
            value: raw,
        })
    }
}

/// Defines one ABI enum: the `#[repr(transparent)]` newtype `raw` with a
/// constant per value, and the Rust enum with `TryFrom<raw>`, `From<enum> for
/// raw`, `Display`, [`AbiEnum`], `ALL` and `abi_name`. A closing `impl Error;`
/// makes the enum an `Error` too (for status types).
///
/// The generators emit one invocation per enum, so every version's enums are
/// this one tested definition.
///
/// ```
/// proxy_wasm_abi::abi_enum! {
///     /// `proxy_action_t` as it crosses the boundary.
///     pub struct RawAction(u32);
///     /// What a callback tells the host to do next.
///     pub enum Action = "proxy_action_t" {
///         /// Go on.
///         CONTINUE => Continue = 0,
///         /// Wait.
///         PAUSE => Pause = 1,
///     }
/// }
/// assert_eq!(Action::try_from(RawAction(1)), Ok(Action::Pause));
/// assert_eq!(RawAction::from(Action::Continue), RawAction::CONTINUE);
/// assert_eq!(Action::Pause.to_string(), "PAUSE");
/// assert!(Action::try_from(RawAction(7)).is_err());
/// ```
#[macro_export]
macro_rules! abi_enum {
    (@Error $name:ident) => {
        impl core::error::Error for $name {}
    };
    (
        $(#[$raw_meta:meta])*
        $raw_vis:vis struct $raw:ident(u32);
        $(#[$meta:meta])*
        $vis:vis enum $name:ident = $abi_type:literal {
            $(
                $(#[$variant_meta:meta])*
                $const:ident => $variant:ident = $value:literal,
            )*
        }
        $(impl $error:ident;)?
    ) => {
        $(#[$raw_meta])*
        #[repr(transparent)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        $raw_vis struct $raw(pub u32);

        impl $raw {
            $(
                $(#[$variant_meta])*
                pub const $const: $raw = $raw($value);
            )*
        }

        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(u32)]
        $vis enum $name {
            $(
                $(#[$variant_meta])*
                $variant = $value,
            )*
        }

        impl $name {
            /// Every value this version defines.
            pub const ALL: [$name; [$($value),*].len()] = [$($name::$variant),*];

            /// The name the specification uses, e.g. `NOT_FOUND`.
            pub const fn abi_name(self) -> &'static str {
                match self {
                    $($name::$variant => stringify!($const),)*
                }
            }
        }

        impl TryFrom<$raw> for $name {
            type Error = $crate::UnknownValue;

            fn try_from(raw: $raw) -> Result<Self, $crate::UnknownValue> {
                match raw.0 {
                    $($value => Ok($name::$variant),)*
                    value => Err($crate::UnknownValue { type_name: $abi_type, value }),
                }
            }
        }

        impl From<$name> for $raw {
            fn from(value: $name) -> Self {
                $raw(value as u32)
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(self.abi_name())
            }
        }

        impl $crate::AbiEnum for $name {
            const ABI_TYPE: &'static str = $abi_type;
            const ALL: &'static [$name] = &$name::ALL;

            fn to_raw(self) -> u32 {
                self as u32
            }

            #[inline]
            fn from_raw(raw: u32) -> Option<Self> {
                // Values 0, 1, 2, ... in order (most enums): the raw value is
                // an index, one compare decides it (a `match` compiles to a
                // chain of selects). The branch is decided at compile time.
                const DENSE: bool = {
                    let values = [$($value),*];
                    let mut i = 0;
                    while i < values.len() && values[i] == i as u32 {
                        i += 1;
                    }
                    i == values.len()
                };
                if DENSE {
                    return $name::ALL.get(raw as usize).copied();
                }
                match raw {
                    $($value => Some($name::$variant),)*
                    _ => None,
                }
            }

            fn abi_name(self) -> &'static str {
                $name::abi_name(self)
            }
        }

        $($crate::abi_enum!(@$error $name);)?
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    crate::abi_enum! {
        /// The raw form.
        pub struct RawLevel(u32);
        /// A test enum with a gap in its values.
        pub enum Level = "test_level_t" {
            /// Low.
            LOW => Low = 0,
            /// High.
            VERY_HIGH => VeryHigh = 5,
        }
        impl Error;
    }

    #[test]
    fn converts_both_ways_and_refuses_unknown_values() {
        assert_eq!(Level::try_from(RawLevel(5)), Ok(Level::VeryHigh));
        assert_eq!(
            Level::try_from(RawLevel(1)),
            Err(UnknownValue {
                type_name: "test_level_t",
                value: 1
            })
        );
        assert_eq!(RawLevel::from(Level::VeryHigh), RawLevel::VERY_HIGH);
        assert_eq!(Level::ALL, [Level::Low, Level::VeryHigh]);
        assert_eq!(RawLevel::LOW.0, 0);
        assert_eq!(<Level as AbiEnum>::ALL.len(), 2);
    }

    crate::abi_enum! {
        /// The raw form.
        pub struct RawStep(u32);
        /// A test enum whose values are 0, 1, 2: decoded by index.
        pub enum Step = "test_step_t" {
            /// First.
            FIRST => First = 0,
            /// Second.
            SECOND => Second = 1,
            /// Third.
            THIRD => Third = 2,
        }
    }

    #[test]
    fn dense_and_gapped_enums_decode_every_raw_value_alike() {
        // The index path (dense) and the match (with a gap) must agree with
        // the declared values, including just past the last one.
        let raws = [RawStep::FIRST, RawStep::SECOND, RawStep::THIRD];
        assert_eq!(raws.map(|r| r.0), [0, 1, 2]);
        for raw in (0..8).chain([u32::MAX - 1, u32::MAX]) {
            let step = Step::ALL.iter().copied().find(|s| *s as u32 == raw);
            assert_eq!(Step::from_raw(raw), step, "{raw}");
            let level = Level::ALL.iter().copied().find(|l| *l as u32 == raw);
            assert_eq!(Level::from_raw(raw), level, "{raw}");
        }
    }

    #[test]
    fn names_and_trait() {
        assert_eq!(Level::VeryHigh.abi_name(), "VERY_HIGH");
        assert_eq!(Level::Low.to_string(), "LOW");
        assert_eq!(Level::from_raw(0), Some(Level::Low));
        assert_eq!(Level::from_raw(u32::MAX), None);
        assert_eq!(Level::VeryHigh.to_raw(), 5);
        assert_eq!(
            Level::decode(9).unwrap_err().to_string(),
            "9 is not a value of test_level_t"
        );
        let error: &dyn core::error::Error = &Level::Low;
        assert_eq!(error.to_string(), "LOW");
    }
}

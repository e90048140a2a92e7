//! The `plugin_callbacks!` macro: a version's callbacks, each named once.

/// Defines a version's callback enum and the struct of its looked-up
/// exports from one list, so that the enum's order, the export names and
/// the wasm signatures cannot drift apart.
///
/// ```
/// proxy_wasm_abi::plugin_callbacks! {
///     /// A callback, as the access rules name it.
///     pub enum Callback;
///     /// The callbacks, looked up once.
///     pub struct Callbacks {
///         Tick => proxy_on_tick(u32) -> (),
///         Done => proxy_on_done(u32) -> u32,
///     }
/// }
///
/// assert_eq!(CALLBACK_NAMES, ["proxy_on_tick", "proxy_on_done"]);
/// assert_eq!(Callback::Done.abi_name(), "proxy_on_done");
/// assert_eq!(Callback::Done.bit(), 0b10);
/// assert_eq!(proxy_wasm_abi::host::CallbackId::from(Callback::Done).0, 1);
/// ```
///
/// It defines:
/// - the enum, one variant per callback in list order, with `abi_name()`
///   and `bit()` (its bit in pause masks) and a conversion to
///   [`CallbackId`](crate::host::CallbackId);
/// - `CALLBACK_NAMES`, the export names in the same order;
/// - the struct, one [`Export`](crate::host::Export) field per callback
///   named as the export, and `look_up`, which fills it through a
///   [`Lookup`](crate::host::Lookup) during
///   [`PluginCore::instantiate`](crate::host::PluginCore::instantiate).
#[macro_export]
macro_rules! plugin_callbacks {
    (
        $(#[$enum_meta:meta])*
        $enum_vis:vis enum $enum:ident;
        $(#[$struct_meta:meta])*
        $struct_vis:vis struct $struct:ident {
            $($variant:ident => $name:ident($($param:ty),* $(,)?) -> $result:ty,)*
        }
    ) => {
        $(#[$enum_meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        $enum_vis enum $enum {
            $(
                #[doc = concat!("`", stringify!($name), "`")]
                $variant,
            )*
        }

        /// The export names of the callbacks, in the enum's order.
        pub const CALLBACK_NAMES: &[&str] = &[$(stringify!($name)),*];

        impl $enum {
            /// The callback's export name.
            pub const fn abi_name(self) -> &'static str {
                CALLBACK_NAMES[self as usize]
            }

            /// The callback's bit in pause masks.
            pub const fn bit(self) -> u64 {
                1 << self as u32
            }
        }

        impl From<$enum> for $crate::host::CallbackId {
            fn from(callback: $enum) -> Self {
                $crate::host::CallbackId(callback as u8)
            }
        }

        $(#[$struct_meta])*
        $struct_vis struct $struct {
            $(
                #[doc = concat!("`", stringify!($name), "`, if the plugin exports it.")]
                pub $name: $crate::host::Export<($($param,)*), $result>,
            )*
        }

        impl $struct {
            /// Looks every callback up in an instance being created.
            pub fn look_up<T>(
                lookup: &mut $crate::host::Lookup<'_, T>,
            ) -> Result<Self, $crate::host::PluginError> {
                Ok($struct {
                    $($name: lookup.get(stringify!($name))?,)*
                })
            }
        }

        impl $crate::host::LookUpCallbacks for $struct {
            fn look_up<T>(
                lookup: &mut $crate::host::Lookup<'_, T>,
            ) -> Result<Self, $crate::host::PluginError> {
                $struct::look_up(lookup)
            }
        }
    };
}

//! What a host allows a plugin: how long a callback may run, how much
//! memory an instance may have, and how large an argument the host copies
//! out of it. A plugin is untrusted; without these, one `loop` in a
//! callback blocks the host's thread for good, one `memory.grow` loop takes
//! 4 GiB, and one map header claiming a billion pairs makes the host
//! reserve gigabytes.
//!
//! ```no_run
//! # use proxy_wasm_abi::host::{EpochTicker, HasPluginState, Limits, PluginState};
//! # use proxy_wasm_abi::wasmtime;
//! # struct MyHost { plugin: PluginState }
//! # impl HasPluginState for MyHost {
//! #     fn plugin_state(&mut self) -> &mut PluginState { &mut self.plugin }
//! # }
//! # fn main() -> wasmtime::Result<()> {
//! let engine = wasmtime::Engine::new(&Limits::config())?;
//! // One ticker per engine, for as long as plugins run on it.
//! let _ticker = EpochTicker::start(&engine)?;
//! let mut store = wasmtime::Store::new(&engine, MyHost { plugin: PluginState::new() });
//! Limits::default().apply(&mut store);
//! // ... instantiate the generated `Plugin` and call it: a callback that
//! // runs past the deadline ends with `CallError::Deadline`.
//! # Ok(())
//! # }
//! ```

use core::time::Duration;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use super::{HasPluginState, PluginState};

/// How often an [`EpochTicker`] advances its engine's epoch: the
/// granularity of deadlines.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

/// A deadline in ticks that is never reached, and that wasmtime can add to
/// the current epoch without overflow.
const NEVER: u64 = u64::MAX / 2;

/// What a host allows each plugin instance in a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// How long one callback (or the plugin's start functions) may run
    /// before it is stopped with [`CallError::Deadline`](super::CallError::Deadline);
    /// `None`: no limit. It takes an engine made with [`Limits::config`]
    /// (epoch interruption) whose epoch an [`EpochTicker`] advances; on
    /// another engine it has no effect. A deadline ends a callback within
    /// the budget plus one [`EPOCH_TICK`] or so, more on a loaded machine.
    pub deadline: Option<Duration>,
    /// The most linear memory one plugin instance may have, in bytes: a
    /// `memory.grow` past it fails (the plugin sees `-1`), and a module that
    /// asks for more at the start cannot be instantiated.
    pub memory_bytes: usize,
    /// The most elements one table may have.
    pub table_elements: usize,
    /// The most bytes of one `string` or `bytes` argument (a body, a log
    /// message, a shared-data value, a queue message, a property value, the
    /// total of a `fd_write`), checked before the host function runs: a
    /// larger one answers the function's `bad_argument` status
    /// (`BAD_ARGUMENT`, or `EINVAL` for WASI) and the host copies nothing.
    pub argument_bytes: u32,
    /// The most bytes of one serialized map argument, checked the same way.
    pub map_bytes: u32,
    /// The most pairs of one serialized map argument, checked from its
    /// header before any pair is decoded. A host that keeps maps should
    /// hold them to the same number (see the reference host).
    pub map_pairs: u32,
}

/// The argument limits of [`Limits`], which every shim carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ArgumentLimits {
    pub(crate) bytes: u32,
    pub(crate) map_bytes: u32,
    pub(crate) map_pairs: u32,
}

/// The most iovecs one `fd_write` takes, as POSIX's `IOV_MAX` on Linux:
/// more answer `EINVAL`, as `writev` does.
pub const IOVECS_MAX: u32 = 1024;

impl Default for Limits {
    /// A deadline of 1 s, generous for code that normally runs for
    /// microseconds: it is there to end a runaway, not to police speed.
    /// 1 GiB of memory, as proxy-wasm-cpp-host allows a plugin. Tables of
    /// up to 1,000,000 elements. Arguments of up to 64 MiB, well above
    /// what a proxy buffers of a body by default (Envoy: 1 MiB); maps of up
    /// to 8 MiB (Envoy's largest configurable header size) and 10,000 pairs
    /// (Envoy's default is 100 headers).
    fn default() -> Self {
        Limits {
            deadline: Some(Duration::from_secs(1)),
            memory_bytes: 1 << 30,
            table_elements: 1_000_000,
            argument_bytes: 64 << 20,
            map_bytes: 8 << 20,
            map_pairs: 10_000,
        }
    }
}

impl Limits {
    /// No deadline and wasm32's own limits: what a store has without
    /// [`Limits::apply`]. (The iovec count of `fd_write` is still held to
    /// [`IOVECS_MAX`].)
    pub const NONE: Limits = Limits {
        deadline: None,
        memory_bytes: usize::MAX,
        table_elements: usize::MAX,
        argument_bytes: u32::MAX,
        map_bytes: u32::MAX,
        map_pairs: u32::MAX,
    };

    /// A wasmtime configuration with epoch interruption on, which deadlines
    /// need; the rest is wasmtime's default.
    pub fn config() -> wasmtime::Config {
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(true);
        config
    }

    /// Makes `store` hold its plugins to these limits: the plugin state
    /// keeps them (the generated shims check arguments against them), and
    /// the store's resource limiter is the plugin state.
    pub fn apply<T: HasPluginState + 'static>(self, store: &mut wasmtime::Store<T>) {
        let state = store.data_mut().plugin_state();
        state.limits = self;
        state.deadline_ticks = self.deadline_ticks();
        store.limiter(|data| data.plugin_state());
        // With epoch interruption on, a store's deadline is "now" until set;
        // without a deadline of ours, it is set once, out of reach.
        if self.deadline.is_none() {
            store.set_epoch_deadline(NEVER);
        }
    }

    pub(crate) const fn arguments(&self) -> ArgumentLimits {
        ArgumentLimits {
            bytes: self.argument_bytes,
            map_bytes: self.map_bytes,
            map_pairs: self.map_pairs,
        }
    }

    /// The deadline in epoch ticks from now: one more than the budget
    /// needs, since the current tick has partly gone.
    pub(crate) fn deadline_ticks(&self) -> Option<u64> {
        let tick = EPOCH_TICK.as_nanos();
        self.deadline.map(|d| {
            let ticks = d.as_nanos().div_ceil(tick) + 1;
            u64::try_from(ticks).unwrap_or(NEVER).min(NEVER)
        })
    }
}

impl wasmtime::ResourceLimiter for PluginState {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= self.limits.memory_bytes)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= self.limits.table_elements)
    }
}

/// Advances an engine's epoch every [`EPOCH_TICK`] on a thread of its own,
/// which is what ends callbacks at their deadline; stops when dropped.
#[derive(Debug)]
pub struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EpochTicker {
    /// Starts ticking `engine`'s epoch; fails only when the thread cannot
    /// be spawned.
    pub fn start(engine: &wasmtime::Engine) -> std::io::Result<EpochTicker> {
        let stop = Arc::new(AtomicBool::new(false));
        let engine = engine.clone();
        let stopped = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("proxy-wasm-abi epoch".into())
            .spawn(move || {
                while !stopped.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })?;
        Ok(EpochTicker {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_round_up_to_whole_ticks_plus_one() {
        let ticks = |ms| {
            Limits {
                deadline: Some(Duration::from_millis(ms)),
                ..Limits::NONE
            }
            .deadline_ticks()
        };
        assert_eq!(ticks(100), Some(21));
        assert_eq!(ticks(1), Some(2));
        assert_eq!(ticks(0), Some(1));
        assert_eq!(Limits::NONE.deadline_ticks(), None);
        let forever = Limits {
            deadline: Some(Duration::MAX),
            ..Limits::NONE
        };
        assert_eq!(forever.deadline_ticks(), Some(NEVER));
    }
}

//! What the generated host keeps in a store: the state the access rules look
//! at (the running callback, the effective context, each stream's pauses)
//! and the memory and allocator of each plugin instance.
//!
//! The runtime model (see the description's `access` block):
//! - `in X` holds while callback `X` runs; when `X` runs for a stream, only
//!   while that stream is the effective context;
//! - `paused X` holds while the effective context's stream returned `PAUSE`
//!   from `X` and no successful `@resumes` call has resumed it since;
//! - `before X` holds while the effective context is a stream that has not
//!   yet got past `X` (returned `CONTINUE` from it, or was resumed there).

use alloc::vec;
use alloc::vec::Vec;
use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering};

use super::Limits;
use super::out::Scratch;

/// A callback as the access rules name it: its index in the version's
/// generated `Callback` enum, which converts into this.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CallbackId(pub u8);

impl CallbackId {
    /// The callback's bit in the masks of [`Grant`] and pauses.
    #[inline]
    pub const fn bit(self) -> u64 {
        // An id past the 64 a mask holds has no bit, so no grant names it.
        match 1u64.checked_shl(self.0 as u32) {
            Some(bit) => bit,
            None => 0,
        }
    }
}

/// How a host function uses a map or buffer; `Call` for a host function the
/// rules restrict as a whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessLevel {
    /// Reading sizes, pairs, values or bytes.
    Read,
    /// Adding entries, without reading or changing the others.
    Add,
    /// Setting, replacing, removing; also grants reading and adding.
    Modify,
    /// Calling a restricted host function.
    Call,
}

impl AccessLevel {
    /// Whether a grant of `self` permits a use at `needed`.
    #[inline]
    pub const fn grants(self, needed: AccessLevel) -> bool {
        // The levels `self` grants as a bit set: a match of constants, which
        // compiles to a table lookup rather than a jump per grant.
        const READ: u8 = 1 << AccessLevel::Read as u8;
        const ADD: u8 = 1 << AccessLevel::Add as u8;
        const MODIFY: u8 = 1 << AccessLevel::Modify as u8;
        const CALL: u8 = 1 << AccessLevel::Call as u8;
        let granted = match self {
            AccessLevel::Read => READ,
            AccessLevel::Add => ADD,
            AccessLevel::Modify => READ | ADD | MODIFY,
            AccessLevel::Call => CALL,
        };
        granted & 1 << needed as u8 != 0
    }
}

/// One grant of an access rule: a use at `level` is permitted while any of
/// its places holds. Places are masks of [`CallbackId::bit`]s.
#[derive(Clone, Copy, Debug)]
pub struct Grant {
    /// What is permitted.
    pub level: AccessLevel,
    /// While one of these callbacks runs; one that runs for a stream, only
    /// while that stream is the effective context.
    pub running: u64,
    /// While the effective context's stream stays paused from one of these.
    pub paused: u64,
    /// While the effective context is a stream not yet past one of these.
    pub before: u64,
    /// Whether `running` also needs the running callback's condition (e.g.
    /// `end_of_stream`).
    pub when: bool,
}

impl Grant {
    /// A use at `level`, permitted nowhere yet; the methods below add
    /// places, so a generated grant table reads as its rule does.
    #[inline]
    pub const fn new(level: AccessLevel) -> Grant {
        Grant {
            level,
            running: 0,
            paused: 0,
            before: 0,
            when: false,
        }
    }

    /// Also while one of the callbacks in mask `running` runs.
    #[inline]
    pub const fn running(mut self, running: u64) -> Grant {
        self.running |= running;
        self
    }

    /// Also while the stream stays paused from one of `paused`.
    #[inline]
    pub const fn paused(mut self, paused: u64) -> Grant {
        self.paused |= paused;
        self
    }

    /// Also while the stream is not yet past one of `before`.
    #[inline]
    pub const fn before(mut self, before: u64) -> Grant {
        self.before |= before;
        self
    }

    /// `running` holds only with the running callback's condition.
    #[inline]
    pub const fn when_condition(mut self) -> Grant {
        self.when = true;
        self
    }

    /// Whether the grant holds while `running` runs: it names that
    /// callback, with its condition when it asks for one.
    #[inline]
    const fn holds_while(&self, running: Running) -> bool {
        self.running & running.callback.bit() != 0 && (running.condition || !self.when)
    }
}

/// An access rule: its grants, and what its common case needs worked out
/// when the table is built (in a `const`, for generated tables): for each
/// level, the callbacks whose running alone grants it. The access check
/// then decides the common case with one mask test, and reads the grants
/// only for the rest (conditions, pauses, `before`, other contexts).
#[derive(Clone, Copy, Debug)]
pub struct Rule<'a> {
    grants: &'a [Grant],
    /// By [`AccessLevel`] needed: callbacks whose running grants it with no
    /// condition to check.
    outright: [u64; 4],
}

impl<'a> Rule<'a> {
    /// The rule of `grants`.
    pub const fn new(grants: &'a [Grant]) -> Rule<'a> {
        let needed = [
            AccessLevel::Read,
            AccessLevel::Add,
            AccessLevel::Modify,
            AccessLevel::Call,
        ];
        let mut outright = [0u64; 4];
        let mut i = 0;
        while i < grants.len() {
            let grant = &grants[i];
            if !grant.when {
                let mut level = 0;
                while level < needed.len() {
                    if grant.level.grants(needed[level]) {
                        outright[level] |= grant.running;
                    }
                    level += 1;
                }
            }
            i += 1;
        }
        Rule { grants, outright }
    }

    /// The grants.
    #[inline]
    pub const fn grants(&self) -> &'a [Grant] {
        self.grants
    }
}

/// The callback now running, as the access rules see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Running {
    /// Which callback.
    pub callback: CallbackId,
    /// The context it runs for.
    pub context_id: u32,
    /// Its condition argument (e.g. `end_of_stream`), `false` when it has none.
    pub condition: bool,
}

impl Running {
    /// `callback` running for `context_id`.
    #[inline]
    pub fn new(callback: impl Into<CallbackId>, context_id: u32, condition: bool) -> Self {
        Running {
            callback: callback.into(),
            context_id,
            condition,
        }
    }
}

/// Pauses and progress of one stream context, as masks of callback bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct StreamState {
    pub(crate) paused: u64,
    pub(crate) passed: u64,
}

/// Stream states by context id: open addressing with linear probing, at most
/// half full. Every callback looks its stream up, so this is on the hot
/// path; the host, not the plugin, picks context ids, so a multiplicative
/// hash is safe.
#[derive(Clone, Default)]
pub(crate) struct Streams {
    slots: Vec<Option<(u32, StreamState)>>,
    len: usize,
    /// The slot [`Streams::get_mut`] or [`Streams::insert`] found last,
    /// tried first: a stream's callbacks come one after another. Its key is
    /// checked on every use, so entries moving never make it wrong.
    last: usize,
}

impl Streams {
    /// The slot where probing for `id` starts.
    #[inline]
    fn home(&self, id: u32) -> usize {
        // Fibonacci hashing: the top bits of the product spread consecutive
        // ids. `slots.len()` is a power of two, at least 16.
        let bits = self.slots.len().trailing_zeros();
        (id.wrapping_mul(0x9e37_79b9) >> (32 - bits)) as usize
    }

    /// The slot holding `id`, if any.
    #[inline]
    fn find(&self, id: u32) -> Option<usize> {
        if self.len == 0 {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut at = self.home(id);
        while let Some((key, _)) = self.slots[at] {
            if key == id {
                return Some(at);
            }
            at = (at + 1) & mask;
        }
        None
    }

    #[inline]
    pub(crate) fn get(&self, id: u32) -> Option<&StreamState> {
        let at = self.find(id)?;
        self.slots[at].as_ref().map(|(_, state)| state)
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, id: u32) -> Option<&mut StreamState> {
        let at = match self.slots.get(self.last) {
            Some(Some((key, _))) if *key == id => self.last,
            _ => {
                let at = self.find(id)?;
                self.last = at;
                at
            }
        };
        self.slots[at].as_mut().map(|(_, state)| state)
    }

    #[inline]
    pub(crate) fn contains(&self, id: u32) -> bool {
        self.find(id).is_some()
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Sets the state of `id`, adding it if new: one probe finds either
    /// its slot or the free one it goes in.
    #[inline]
    pub(crate) fn insert(&mut self, id: u32, state: StreamState) {
        // Growing first (even when `id` is there) keeps a free slot for
        // the probe to stop at.
        if (self.len + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let mask = self.slots.len() - 1;
        let mut at = self.home(id);
        loop {
            match &mut self.slots[at] {
                Some((key, old)) if *key == id => {
                    *old = state;
                    break;
                }
                Some(_) => at = (at + 1) & mask,
                free @ None => {
                    *free = Some((id, state));
                    self.len += 1;
                    break;
                }
            }
        }
        self.last = at;
    }

    /// Forgets `id`, shifting later entries of its probe run back so that no
    /// lookup stops early at the hole.
    #[inline]
    pub(crate) fn remove(&mut self, id: u32) {
        // A stream is deleted after its own callbacks, so the slot found
        // last is most often its own.
        let hole = match self.slots.get(self.last) {
            Some(Some((key, _))) if *key == id => Some(self.last),
            _ => self.find(id),
        };
        let Some(mut hole) = hole else {
            return;
        };
        self.slots[hole] = None;
        self.len -= 1;
        let mask = self.slots.len() - 1;
        let mut at = (hole + 1) & mask;
        while let Some((key, _)) = self.slots[at] {
            let home = self.home(key);
            // The entry may fill the hole unless its home lies cyclically in
            // (hole, at].
            if (at.wrapping_sub(home) & mask) >= (at.wrapping_sub(hole) & mask) {
                self.slots[hole] = self.slots[at].take();
                hole = at;
            }
            at = (at + 1) & mask;
        }
    }

    // Out of line: it runs at doubling sizes only, and inlined it would make
    // every insert save the registers it needs.
    #[cold]
    #[inline(never)]
    fn grow(&mut self) {
        let size = (self.slots.len() * 2).max(16);
        let old = core::mem::replace(&mut self.slots, vec![None; size]);
        self.len = 0;
        for (id, state) in old.into_iter().flatten() {
            self.insert(id, state);
        }
    }
}

impl fmt::Debug for Streams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.slots.iter().flatten().map(|(id, state)| (id, state)))
            .finish()
    }
}

/// The memory and allocator of one plugin instance, found at instantiation.
/// Handles into the store, so copying them is cheap.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Exports {
    pub(crate) memory: wasmtime::Memory,
    /// Checked at instantiation to be `(u32) -> u32`.
    pub(crate) allocator: Option<wasmtime::Func>,
    /// Tells instances apart, for [`PluginState`]'s allocator cache.
    pub(crate) instance: u64,
}

/// A number no other instance has, for [`Exports::instance`].
pub(crate) fn next_instance_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Tells apart the `PluginState`s of different stores, so that a plugin
/// handle only ever names an instance of its own store.
static NEXT_STATE_ID: AtomicU64 = AtomicU64::new(1);

fn next_state_id() -> u64 {
    NEXT_STATE_ID.fetch_add(1, Ordering::Relaxed)
}

/// A plugin instance's memory and allocator, with the id of the
/// [`PluginState`] (so the store) they belong to. The plugin handle keeps
/// it, and hands it to [`PluginState::enter`] for each callback: the state
/// keeps nothing per instance, so instances come and go without leaving a
/// record behind.
#[derive(Clone, Copy, Debug)]
pub struct Slot {
    state: u64,
    exports: Exports,
}

/// What [`PluginState::enter`] saves and [`PluginState::leave`] restores.
#[derive(Clone, Copy, Debug)]
pub struct Saved {
    running: Option<Running>,
    effective_context: u32,
    current: u64,
}

/// What the generated host keeps in the store: what the access rules look
/// at (the running callback, the effective context, paused streams) and the
/// memory and allocator of the instance whose callback runs. Nothing is
/// kept per instance: the plugin handle holds its own [`Slot`].
///
/// Keep one in the store's data and expose it through [`HasPluginState`].
/// Access rules are enforced by default. Streams are known by context id,
/// so plugins that share a store must not share context ids. One state
/// serves plugins of every ABI version.
///
/// While a callback that a generated `Plugin` called runs, the host
/// functions use the memory and allocator of its instance's slot, without
/// looking them up. `Plugin::instantiate` gives a slot only to a
/// module whose imports are all host functions of the bindings (plus
/// memories, tags and plain-valued globals) and that exports no table and
/// no reference-valued global: no other instance's code can run during its
/// callbacks, so every host call then comes from it. Embedder code that runs
/// meanwhile (functions registered in place of the generated ones, epoch or
/// call hooks) must keep that true: it must not run other instances' code in
/// the store except through `Plugin`. Any other call (a raw export call, or
/// one from a module with other imports, or with such exports) looks its
/// memory and allocator up by name.
pub struct PluginState {
    id: u64,
    enforce: bool,
    running: Option<Running>,
    effective_context: u32,
    streams: Streams,
    /// The instance whose callback runs (its [`Exports::instance`]), when
    /// its handle has a [`Slot`] of this state; 0 otherwise.
    current: u64,
    /// The exports of the instance that last entered with a slot. Only
    /// this id is saved and restored around a callback: after a nested
    /// callback of another instance, the outer one's host calls find
    /// `current` differs and look their memory up by name (the same one).
    exports: Option<Exports>,
    /// `exports`' instance, 0 when none: what [`PluginState::enter`]
    /// compares with a slot's.
    cached_instance: u64,
    /// The typed allocator of the instance that last allocated: typing a
    /// function costs a type-registry lookup, which every returned value
    /// would pay otherwise. One entry, so nothing piles up per instance.
    allocator: Option<(u64, wasmtime::TypedFunc<u32, u32>)>,
    /// The host calls made while tracing is on.
    trace: Option<Vec<TracedCall>>,
    /// Host functions answered with a fixed status instead of running
    /// ([`PluginState::answer_instead`]).
    answers: Vec<(&'static str, u32)>,
    /// What the host allows the plugins (see [`Limits::apply`]).
    pub(crate) limits: Limits,
    /// `limits`' deadline in epoch ticks, worked out once rather than at
    /// every callback.
    pub(crate) deadline_ticks: Option<u64>,
    /// The buffers the shims lend a `Host` to fill with returned values.
    pub(crate) scratch: Scratch,
}

/// One host call a plugin made, as [`PluginState::trace_host_calls`]
/// records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TracedCall {
    /// The host function, e.g. `proxy_log`.
    pub function: &'static str,
    /// The callback that was running, if any.
    pub running: Option<Running>,
    /// The status the plugin got; `None` when the call trapped.
    pub status: Option<u32>,
}

impl Default for PluginState {
    fn default() -> Self {
        PluginState {
            id: next_state_id(),
            enforce: true,
            running: None,
            effective_context: 0,
            streams: Streams::default(),
            current: 0,
            exports: None,
            cached_instance: 0,
            allocator: None,
            trace: None,
            answers: Vec::new(),
            limits: Limits::NONE,
            deadline_ticks: None,
            scratch: Scratch::default(),
        }
    }
}

/// A clone keeps the rules' view but not the instances' exports, which
/// belong to one store.
impl Clone for PluginState {
    fn clone(&self) -> Self {
        PluginState {
            id: next_state_id(),
            enforce: self.enforce,
            running: self.running,
            effective_context: self.effective_context,
            streams: self.streams.clone(),
            current: 0,
            exports: None,
            cached_instance: 0,
            allocator: None,
            trace: self.trace.clone(),
            answers: self.answers.clone(),
            limits: self.limits,
            deadline_ticks: self.deadline_ticks,
            scratch: Scratch::default(),
        }
    }
}

impl fmt::Debug for PluginState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginState")
            .field("enforce", &self.enforce)
            .field("running", &self.running)
            .field("effective_context", &self.effective_context)
            .field("streams", &self.streams)
            .finish_non_exhaustive()
    }
}

impl PluginState {
    /// A fresh state, access rules enforced.
    pub fn new() -> Self {
        Self::default()
    }

    /// The limits the plugins are held to ([`Limits::NONE`] unless
    /// [`Limits::apply`] set others).
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Turns enforcement of the access rules on (the default) or off. Off,
    /// every call reaches the host, which then answers as it likes.
    pub fn enforce_access_rules(&mut self, enforce: bool) {
        self.enforce = enforce;
    }

    /// Whether the access rules are enforced.
    #[inline]
    pub fn access_rules_enforced(&self) -> bool {
        self.enforce
    }

    /// Starts (or stops) recording every call of a host function that
    /// answers a status, with that status: what a test host needs to check
    /// which calls a plugin made and whether it handled what it got. Off by
    /// default; stopping drops what was recorded. Only store data whose
    /// [`HasPluginState::TRACES_HOST_CALLS`] is `true` is traced.
    pub fn trace_host_calls(&mut self, on: bool) {
        self.trace = on.then(Vec::new);
    }

    /// The host calls recorded and not yet taken, oldest first.
    pub fn host_calls(&self) -> &[TracedCall] {
        self.trace.as_deref().unwrap_or_default()
    }

    /// The host calls recorded since tracing started or this was last
    /// called, oldest first (empty when tracing is off).
    pub fn take_host_calls(&mut self) -> Vec<TracedCall> {
        self.trace.as_mut().map(core::mem::take).unwrap_or_default()
    }

    /// Makes later calls of host function `function` (e.g. `proxy_get_metric`)
    /// answer `status` without running, or run again with `None`: no
    /// argument is read, no `Host` method called, nothing written back.
    /// What a test host needs to show a plugin statuses a `Host` cannot
    /// return (its methods answer a `Status`), such as values no version
    /// defines. Only store data whose [`HasPluginState::TRACES_HOST_CALLS`]
    /// is `true` (a test host) is answered so, and such calls are traced with
    /// the status they got.
    pub fn answer_instead(&mut self, function: &'static str, status: Option<u32>) {
        self.answers.retain(|(name, _)| *name != function);
        if let Some(status) = status {
            self.answers.push((function, status));
        }
    }

    /// The status [`PluginState::answer_instead`] set for `function`.
    #[inline]
    pub(crate) fn answer_for(&self, function: &str) -> Option<u32> {
        self.answers
            .iter()
            .find(|(name, _)| *name == function)
            .map(|(_, status)| *status)
    }

    /// Records a host call if tracing is on.
    #[inline]
    pub(crate) fn traced(&mut self, function: &'static str, status: Option<u32>) {
        if let Some(trace) = &mut self.trace {
            trace.push(TracedCall {
                function,
                running: self.running,
                status,
            });
        }
    }

    /// The callback now running, if any.
    #[inline]
    pub fn running(&self) -> Option<Running> {
        self.running
    }

    /// The context host functions act on: the running callback's, or the
    /// one the plugin switched to.
    #[inline]
    pub fn effective_context(&self) -> u32 {
        self.effective_context
    }

    /// Makes `context_id` the effective context (what a successful
    /// `@context(switch)` host function does).
    #[inline]
    pub fn switch_context(&mut self, context_id: u32) {
        self.effective_context = context_id;
    }

    /// Whether `context_id` is a stream (an HTTP stream or a TCP connection)
    /// that was created and not yet forgotten.
    #[inline]
    pub fn is_stream(&self, context_id: u32) -> bool {
        self.streams.contains(context_id)
    }

    /// Whether stream `context_id` is paused from `callback`.
    #[inline]
    pub fn is_paused(&self, context_id: u32, callback: impl Into<CallbackId>) -> bool {
        let bit = callback.into().bit();
        self.streams
            .get(context_id)
            .is_some_and(|s| s.paused & bit != 0)
    }

    /// Whether `rule` permits a use at `level` now (always, when the rules
    /// are not enforced).
    #[inline]
    pub fn permits(&self, rule: &Rule<'_>, level: AccessLevel) -> bool {
        if !self.enforce {
            return true;
        }
        // The common case first: the running callback, for its own context,
        // holds a grant outright. Whatever this misses, the full rules below
        // decide (they grant all this grants, and more).
        if let Some(r) = self.running
            && r.context_id == self.effective_context
            && rule.outright[level as usize] & r.callback.bit() != 0
        {
            return true;
        }
        self.permits_otherwise(rule.grants, level)
    }

    /// [`PluginState::permits`] beyond its common case: grants of a
    /// callback running for another context, and of paused streams and
    /// streams not yet past a callback.
    #[inline(never)]
    fn permits_otherwise(&self, grants: &[Grant], level: AccessLevel) -> bool {
        // A callback that runs for a stream grants access to that stream
        // only: switched to another context, its grants lapse. One that runs
        // for a plugin context (an HTTP call's response, a tick) keeps them
        // across a switch.
        let running = self.running.filter(|r| {
            r.context_id == self.effective_context || !self.streams.contains(r.context_id)
        });
        let stream = || self.streams.get(self.effective_context);
        grants.iter().any(|grant| {
            grant.level.grants(level)
                && (running.is_some_and(|r| grant.holds_while(r))
                    || (grant.paused | grant.before != 0
                        && stream().is_some_and(|s| {
                            s.paused & grant.paused != 0 || !s.passed & grant.before != 0
                        })))
        })
    }

    /// Context `context_id` was created under `parent_id` (0 for a plugin
    /// context, which is not a stream).
    #[inline]
    pub fn created(&mut self, context_id: u32, parent_id: u32) {
        if parent_id == 0 {
            self.streams.remove(context_id);
        } else {
            self.streams.insert(context_id, StreamState::default());
        }
    }

    /// Forgets stream `context_id`: it was deleted, or a host ends a stream
    /// without `proxy_on_delete`.
    #[inline]
    pub fn forget_context(&mut self, context_id: u32) {
        self.streams.remove(context_id);
    }

    /// `callback` returned for `context_id`, pausing its stream or not.
    #[inline]
    pub fn returned(&mut self, callback: impl Into<CallbackId>, context_id: u32, paused: bool) {
        let bit = callback.into().bit();
        if let Some(stream) = self.streams.get_mut(context_id) {
            if paused {
                stream.paused |= bit;
            } else {
                stream.paused &= !bit;
                stream.passed |= bit;
            }
        }
    }

    /// A continue or close succeeded: the effective context's pauses in
    /// `mask` end, and the stream is past those callbacks.
    #[inline]
    pub fn resumed(&mut self, mask: u64) {
        if let Some(stream) = self.streams.get_mut(self.effective_context) {
            stream.passed |= stream.paused & mask;
            stream.paused &= !mask;
        }
    }

    /// A callback of the instance in `slot` starts (`running` is `None` for
    /// instantiation and start functions); returns what to restore when it
    /// ends.
    #[inline]
    pub fn enter(&mut self, running: Option<Running>, slot: Option<&Slot>) -> Saved {
        let saved = Saved {
            running: self.running,
            effective_context: self.effective_context,
            current: self.current,
        };
        self.running = running;
        self.effective_context = running.map_or(0, |r| r.context_id);
        self.current = match slot {
            // Instance ids are unique across stores, and only `install`
            // caches exports, after checking the slot is this state's: the
            // instance last cached is one of this store.
            Some(slot) if slot.exports.instance == self.cached_instance => self.cached_instance,
            Some(slot) => self.install(slot),
            None => 0,
        };
        saved
    }

    /// Caches the exports of `slot` if it is one of this state's; returns
    /// the instance to enter (0 for another state's slot).
    #[cold]
    fn install(&mut self, slot: &Slot) -> u64 {
        if slot.state != self.id {
            return 0;
        }
        self.exports = Some(slot.exports);
        self.cached_instance = slot.exports.instance;
        self.cached_instance
    }

    /// The callback [`PluginState::enter`] started ended.
    #[inline]
    pub fn leave(&mut self, saved: Saved) {
        self.running = saved.running;
        self.effective_context = saved.effective_context;
        self.current = saved.current;
    }

    /// The exports of the instance whose callback runs now, if recorded.
    #[inline]
    fn current_exports(&self) -> Option<&Exports> {
        self.exports
            .as_ref()
            .filter(|e| self.current != 0 && e.instance == self.current)
    }

    /// The slot to enter an instance with `exports` of this state's store.
    pub(crate) fn slot(&self, exports: Exports) -> Slot {
        Slot {
            state: self.id,
            exports,
        }
    }

    /// The memory of the instance whose callback runs now, if recorded.
    #[inline]
    pub(crate) fn current_memory(&self) -> Option<wasmtime::Memory> {
        Some(self.current_exports()?.memory)
    }

    /// The allocator of the instance whose callback runs now, if recorded,
    /// and that instance's id.
    #[inline]
    pub(crate) fn current_allocator(&self) -> Option<(u64, wasmtime::Func)> {
        let current = self.current_exports()?;
        Some((current.instance, current.allocator?))
    }

    /// The allocator of `instance` as [`PluginState::keep_typed_allocator`]
    /// kept it last, taken out (cloning it costs a reference count and a
    /// drop): keep it again after the call.
    #[inline]
    pub(crate) fn take_typed_allocator(
        &mut self,
        instance: u64,
    ) -> Option<wasmtime::TypedFunc<u32, u32>> {
        match &self.allocator {
            Some((kept, _)) if *kept == instance => self.allocator.take().map(|(_, typed)| typed),
            _ => None,
        }
    }

    /// Keeps `typed`, the allocator of `instance`, for its next allocations.
    #[inline]
    pub(crate) fn keep_typed_allocator(
        &mut self,
        instance: u64,
        typed: wasmtime::TypedFunc<u32, u32>,
    ) {
        self.allocator = Some((instance, typed));
    }

    #[cfg(test)]
    pub(crate) fn streams(&mut self) -> &mut Streams {
        &mut self.streams
    }
}

/// Store data that holds a [`PluginState`].
pub trait HasPluginState {
    /// Whether the shims may record host calls
    /// ([`PluginState::trace_host_calls`]). A constant, so that hosts that
    /// never trace (the default) pay nothing for it on each call.
    const TRACES_HOST_CALLS: bool = false;

    /// The state, in the store's data.
    fn plugin_state(&mut self) -> &mut PluginState;
}

impl HasPluginState for PluginState {
    #[inline]
    fn plugin_state(&mut self) -> &mut PluginState {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeMap;
    use alloc::format;

    use super::super::test_rng::XorShift;

    #[test]
    fn grant_builders_add_only_the_places_given() {
        const BARE: Grant = Grant::new(AccessLevel::Read);
        assert_eq!(
            (
                BARE.level,
                BARE.running,
                BARE.paused,
                BARE.before,
                BARE.when
            ),
            (AccessLevel::Read, 0, 0, 0, false)
        );
        const FULL: Grant = Grant::new(AccessLevel::Modify)
            .running(0b0001)
            .running(0b0100)
            .paused(0b0010)
            .before(0b1000)
            .when_condition();
        assert_eq!(
            (
                FULL.level,
                FULL.running,
                FULL.paused,
                FULL.before,
                FULL.when
            ),
            (AccessLevel::Modify, 0b0101, 0b0010, 0b1000, true)
        );
    }

    /// The inverse of the Fibonacci multiplier mod 2^32 (Newton's method;
    /// each step doubles the correct low bits).
    fn inverse_multiplier() -> u32 {
        let a: u32 = 0x9e37_79b9;
        let mut x = a;
        for _ in 0..5 {
            x = x.wrapping_mul(2u32.wrapping_sub(a.wrapping_mul(x)));
        }
        assert_eq!(a.wrapping_mul(x), 1);
        x
    }

    /// Ids whose hash is a small `k` (or `-k`): for every table size they
    /// start probing at the first (or last) slot, so they make long probe
    /// runs, and runs that wrap around the end of the table.
    fn colliding_ids(n: u32) -> Vec<u32> {
        let inverse = inverse_multiplier();
        (1..=n)
            .flat_map(|k| {
                [
                    inverse.wrapping_mul(k),
                    inverse.wrapping_mul(k).wrapping_neg(),
                ]
            })
            .collect()
    }

    fn state(paused: u64, passed: u64) -> StreamState {
        StreamState { paused, passed }
    }

    /// Every entry must be reachable from its home slot without crossing an
    /// empty one, or a lookup would stop early and miss it; and the table
    /// stays at most half full.
    fn assert_well_formed(streams: &Streams) {
        let mask = streams.slots.len().wrapping_sub(1);
        let mut count = 0;
        for (at, slot) in streams.slots.iter().enumerate() {
            let Some((id, _)) = slot else { continue };
            count += 1;
            let mut probe = streams.home(*id);
            while probe != at {
                assert!(streams.slots[probe].is_some(), "{id} unreachable");
                probe = (probe + 1) & mask;
            }
        }
        assert_eq!(count, streams.len());
        assert!(streams.len() * 2 <= streams.slots.len());
    }

    #[test]
    fn colliding_ids_share_a_home_slot() {
        let mut streams = Streams::default();
        streams.insert(1, state(0, 0));
        let ids = colliding_ids(4);
        let homes: Vec<usize> = ids.iter().map(|id| streams.home(*id)).collect();
        assert_eq!(homes, [0, 15, 0, 15, 0, 15, 0, 15]);
    }

    #[test]
    fn an_empty_table_finds_nothing_and_removes_nothing() {
        let mut streams = Streams::default();
        assert_eq!(streams.get(0), None);
        assert!(!streams.contains(u32::MAX));
        assert!(streams.get_mut(7).is_none());
        streams.remove(7);
        assert_eq!(streams.len(), 0);
        // Emptied again after use: the slots remain, the entries do not.
        streams.insert(7, state(1, 2));
        streams.remove(7);
        assert_eq!(streams.len(), 0);
        assert_eq!(streams.get(7), None);
        assert_well_formed(&streams);
    }

    #[test]
    fn streams_match_a_model_over_random_steps() {
        let mut ids: Vec<u32> = (0..150).collect();
        ids.extend(colliding_ids(40));
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        ids.extend((0..50).map(|_| rng.next() as u32));
        ids.extend([u32::MAX, u32::MAX - 1, 1 << 31]);

        let mut streams = Streams::default();
        let mut model = BTreeMap::new();
        let mut largest = 0;
        for step in 0..20_000 {
            let id = ids[rng.below(ids.len())];
            // Alternate insert-heavy and remove-heavy phases, so the table
            // both grows and empties, with deletions in long probe runs.
            let inserts = if (step / 1_000) % 2 == 0 { 7 } else { 3 };
            let op = rng.below(10);
            if op < inserts {
                let value = state(rng.next(), rng.next());
                streams.insert(id, value);
                model.insert(id, value);
            } else if op < 9 {
                streams.remove(id);
                model.remove(&id);
            } else if let Some(found) = streams.get_mut(id) {
                found.paused ^= 1;
                model
                    .get_mut(&id)
                    .expect("found only if in the model")
                    .paused ^= 1;
            } else {
                assert!(!model.contains_key(&id), "step {step}: {id} lost");
            }
            assert_eq!(streams.get(id), model.get(&id), "step {step}: id {id}");
            assert_eq!(streams.contains(id), model.contains_key(&id));
            assert_eq!(streams.len(), model.len(), "step {step}");
            largest = largest.max(model.len());
            if step % 500 == 0 {
                assert_well_formed(&streams);
                for id in &ids {
                    assert_eq!(streams.get(*id), model.get(id), "step {step}: id {id}");
                }
            }
        }
        assert_well_formed(&streams);
        // The walk must have grown the table past a few doublings.
        assert!(largest > 150, "at most {largest} entries at once");
    }

    fn grant(level: AccessLevel, running: &[u8], paused: &[u8], before: &[u8]) -> Grant {
        let mask = |ids: &[u8]| ids.iter().fold(0, |m, id| m | CallbackId(*id).bit());
        Grant {
            level,
            running: mask(running),
            paused: mask(paused),
            before: mask(before),
            when: false,
        }
    }

    #[test]
    fn access_levels_grant_themselves_and_modify_grants_all_but_call() {
        use AccessLevel::*;
        let levels = [Read, Add, Modify, Call];
        let table = [
            // Read, Add, Modify, Call needed
            [true, false, false, false], // Read granted
            [false, true, false, false], // Add granted
            [true, true, true, false],   // Modify granted
            [false, false, false, true], // Call granted
        ];
        for (granted, row) in levels.iter().zip(table) {
            for (needed, expected) in levels.iter().zip(row) {
                assert_eq!(
                    granted.grants(*needed),
                    expected,
                    "{granted:?} -> {needed:?}"
                );
            }
        }
    }

    #[test]
    fn a_rules_outright_masks_grant_what_its_grants_do() {
        use AccessLevel::*;
        let mut rng = XorShift(0x5eed_0fa1);
        let levels = [Read, Add, Modify, Call];
        for _ in 0..500 {
            let grants: Vec<Grant> = (0..rng.below(4))
                .map(|_| Grant {
                    level: levels[rng.below(4)],
                    running: rng.next() & 0xff,
                    paused: 0,
                    before: 0,
                    when: rng.below(3) == 0,
                })
                .collect();
            let rule = Rule::new(&grants);
            for needed in levels {
                for callback in 0..8u8 {
                    let bit = CallbackId(callback).bit();
                    let by_mask = rule.outright[needed as usize] & bit != 0;
                    let by_grants = grants
                        .iter()
                        .any(|g| !g.when && g.running & bit != 0 && g.level.grants(needed));
                    assert_eq!(by_mask, by_grants, "{grants:?} {needed:?} {callback}");
                }
            }
        }
    }

    #[test]
    fn callback_bits_are_distinct() {
        assert_eq!(CallbackId(0).bit(), 1);
        assert_eq!(CallbackId(5).bit(), 32);
        assert_eq!(CallbackId(63).bit(), 1 << 63);
    }

    #[test]
    fn unenforced_rules_permit_everything() {
        let mut s = PluginState::new();
        assert!(s.access_rules_enforced());
        assert!(!s.permits(&Rule::new(&[]), AccessLevel::Read));
        s.enforce_access_rules(false);
        assert!(!s.access_rules_enforced());
        assert!(s.permits(&Rule::new(&[]), AccessLevel::Call));
        assert!(s.permits(
            &Rule::new(&[grant(AccessLevel::Read, &[], &[], &[])]),
            AccessLevel::Modify
        ));
    }

    #[test]
    fn the_running_callback_grants_at_its_level() {
        let mut s = PluginState::new();
        let grants = [grant(AccessLevel::Read, &[3], &[], &[])];
        assert!(
            !s.permits(&Rule::new(&grants), AccessLevel::Read),
            "nothing runs"
        );
        s.enter(Some(Running::new(CallbackId(3), 1, false)), None);
        assert!(s.permits(&Rule::new(&grants), AccessLevel::Read));
        assert!(!s.permits(&Rule::new(&grants), AccessLevel::Modify));
        s.enter(Some(Running::new(CallbackId(4), 1, false)), None);
        assert!(!s.permits(&Rule::new(&grants), AccessLevel::Read));
    }

    #[test]
    fn when_needs_the_running_callbacks_condition() {
        let mut s = PluginState::new();
        let when = [Grant {
            when: true,
            ..grant(AccessLevel::Modify, &[2], &[], &[])
        }];
        let always = [grant(AccessLevel::Modify, &[2], &[], &[])];
        s.enter(Some(Running::new(CallbackId(2), 9, false)), None);
        assert!(!s.permits(&Rule::new(&when), AccessLevel::Modify));
        assert!(s.permits(&Rule::new(&always), AccessLevel::Modify));
        s.enter(Some(Running::new(CallbackId(2), 9, true)), None);
        assert!(s.permits(&Rule::new(&when), AccessLevel::Modify));
        assert!(s.permits(&Rule::new(&always), AccessLevel::Modify));
    }

    #[test]
    fn paused_grants_hold_until_resumed() {
        let mut s = PluginState::new();
        let paused = [grant(AccessLevel::Call, &[], &[2], &[])];
        s.created(10, 1);
        s.created(11, 1);
        s.switch_context(10);
        assert!(
            !s.permits(&Rule::new(&paused), AccessLevel::Call),
            "not paused yet"
        );
        s.returned(CallbackId(2), 10, true);
        assert!(s.is_paused(10, CallbackId(2)));
        assert!(!s.is_paused(10, CallbackId(3)));
        assert!(s.permits(&Rule::new(&paused), AccessLevel::Call));
        // Only the effective context's pauses count.
        s.switch_context(11);
        assert!(!s.permits(&Rule::new(&paused), AccessLevel::Call));
        s.switch_context(10);
        // A resume of other callbacks leaves this pause.
        s.resumed(CallbackId(5).bit());
        assert!(s.is_paused(10, CallbackId(2)));
        assert!(s.permits(&Rule::new(&paused), AccessLevel::Call));
        s.resumed(CallbackId(2).bit() | CallbackId(5).bit());
        assert!(!s.is_paused(10, CallbackId(2)));
        assert!(!s.permits(&Rule::new(&paused), AccessLevel::Call));
        // Resumed there, the stream is past the callback.
        assert_eq!(s.streams().get(10), Some(&state(0, CallbackId(2).bit())));
    }

    #[test]
    fn before_grants_lapse_once_the_stream_continues() {
        let mut s = PluginState::new();
        let before_1 = [grant(AccessLevel::Add, &[], &[], &[1])];
        let before_7 = [grant(AccessLevel::Add, &[], &[], &[7])];
        s.created(20, 1);
        s.switch_context(20);
        assert!(s.permits(&Rule::new(&before_1), AccessLevel::Add));
        // Pausing is not getting past.
        s.returned(CallbackId(1), 20, true);
        assert!(s.permits(&Rule::new(&before_1), AccessLevel::Add));
        s.returned(CallbackId(1), 20, false);
        assert!(!s.permits(&Rule::new(&before_1), AccessLevel::Add));
        assert!(!s.is_paused(20, CallbackId(1)), "continuing ends the pause");
        assert!(s.permits(&Rule::new(&before_7), AccessLevel::Add));
        // A plugin context is no stream: nothing is "before" there.
        s.created(21, 0);
        s.switch_context(21);
        assert!(!s.permits(&Rule::new(&before_7), AccessLevel::Add));
        assert!(s.is_stream(20) && !s.is_stream(21));
        s.forget_context(20);
        assert!(!s.is_stream(20), "a deleted stream is gone");
    }

    #[test]
    fn a_stream_callbacks_grants_stay_with_its_stream() {
        let mut s = PluginState::new();
        let grants = [grant(AccessLevel::Read, &[6], &[], &[])];
        s.created(1, 0);
        s.created(40, 1);
        s.created(41, 1);
        s.enter(Some(Running::new(CallbackId(6), 40, false)), None);
        assert_eq!(s.effective_context(), 40);
        assert!(s.permits(&Rule::new(&grants), AccessLevel::Read));
        s.switch_context(41);
        assert!(
            !s.permits(&Rule::new(&grants), AccessLevel::Read),
            "another stream"
        );
        s.switch_context(1);
        assert!(
            !s.permits(&Rule::new(&grants), AccessLevel::Read),
            "a plugin context"
        );
        s.switch_context(40);
        assert!(s.permits(&Rule::new(&grants), AccessLevel::Read));

        // A callback for the plugin context keeps them wherever it switches.
        s.enter(Some(Running::new(CallbackId(6), 1, false)), None);
        s.switch_context(41);
        assert!(s.permits(&Rule::new(&grants), AccessLevel::Read));
        s.switch_context(40);
        assert!(s.permits(&Rule::new(&grants), AccessLevel::Read));
    }

    #[test]
    fn any_grant_of_several_suffices() {
        let mut s = PluginState::new();
        let grants = [
            grant(AccessLevel::Read, &[1], &[], &[]),
            grant(AccessLevel::Call, &[2], &[], &[]),
            grant(AccessLevel::Modify, &[], &[3], &[4]),
        ];
        s.created(5, 1);
        s.enter(Some(Running::new(CallbackId(2), 5, false)), None);
        assert!(s.permits(&Rule::new(&grants), AccessLevel::Call));
        // Modify via "before 4" on the effective stream.
        assert!(s.permits(&Rule::new(&grants), AccessLevel::Read));
        s.returned(CallbackId(4), 5, false);
        assert!(!s.permits(&Rule::new(&grants), AccessLevel::Read));
        s.returned(CallbackId(3), 5, true);
        assert!(s.permits(&Rule::new(&grants), AccessLevel::Add));
    }

    #[test]
    fn enter_and_leave_nest() {
        let mut s = PluginState::new();
        let outer = Running::new(CallbackId(1), 7, true);
        let saved_outer = s.enter(Some(outer), None);
        assert_eq!(s.running(), Some(outer));
        assert_eq!(s.effective_context(), 7);
        s.switch_context(8);
        // A start function (no callback) runs with no context.
        let saved_inner = s.enter(None, None);
        assert_eq!(s.running(), None);
        assert_eq!(s.effective_context(), 0);
        s.switch_context(99);
        s.leave(saved_inner);
        // The switch made before entering survives the inner call.
        assert_eq!(s.running(), Some(outer));
        assert_eq!(s.effective_context(), 8);
        s.leave(saved_outer);
        assert_eq!(s.running(), None);
        assert_eq!(s.effective_context(), 0);
    }

    #[test]
    fn enter_uses_only_slots_of_its_own_state() {
        let mut s = PluginState::new();
        let other = PluginState::new();
        let engine = wasmtime::Engine::default();
        let mut store = wasmtime::Store::new(&engine, ());
        let memory = wasmtime::Memory::new(&mut store, wasmtime::MemoryType::new(1, None))
            .expect("a one-page memory");
        let exports = Exports {
            memory,
            allocator: None,
            instance: 1,
        };
        let own = s.slot(exports);
        // Every instance has its own id (`next_instance_id`), and belongs
        // to one store.
        let foreign = other.slot(Exports {
            instance: 2,
            ..exports
        });
        let saved = s.enter(None, Some(&own));
        assert!(s.current_memory().is_some());
        let inner = s.enter(None, Some(&foreign));
        assert!(s.current_memory().is_none(), "a slot of another store");
        s.leave(inner);
        assert!(s.current_memory().is_some());
        s.leave(saved);
        assert!(s.current_memory().is_none());
    }

    #[test]
    fn after_a_nested_instance_the_outer_one_is_not_given_its_exports() {
        let mut s = PluginState::new();
        let engine = wasmtime::Engine::default();
        let mut store = wasmtime::Store::new(&engine, ());
        let mut slot = |s: &PluginState, instance| {
            let memory = wasmtime::Memory::new(&mut store, wasmtime::MemoryType::new(1, None))
                .expect("a one-page memory");
            s.slot(Exports {
                memory,
                allocator: None,
                instance,
            })
        };
        let (a, b) = (slot(&s, 1), slot(&s, 2));
        let outer = s.enter(None, Some(&a));
        assert_eq!(s.current_exports().map(|e| e.instance), Some(1));
        let inner = s.enter(None, Some(&b));
        assert_eq!(s.current_exports().map(|e| e.instance), Some(2));
        s.leave(inner);
        // Not b's memory: the outer instance's host calls look theirs up.
        assert!(s.current_memory().is_none());
        s.leave(outer);
        assert!(s.current_memory().is_none());
        let again = s.enter(None, Some(&a));
        assert_eq!(s.current_exports().map(|e| e.instance), Some(1));
        s.leave(again);
    }

    #[test]
    fn created_makes_streams_only_under_a_parent() {
        let mut s = PluginState::new();
        s.created(7, 0);
        assert_eq!(s.streams().len(), 0);
        s.returned(CallbackId(1), 7, true);
        assert!(
            !s.is_paused(7, CallbackId(1)),
            "plugin contexts do not pause"
        );
        s.created(7, 3);
        assert_eq!(s.streams().get(7), Some(&StreamState::default()));
        s.returned(CallbackId(1), 7, true);
        assert!(s.is_paused(7, CallbackId(1)));
        // Created again, the id starts over.
        s.created(7, 3);
        assert!(!s.is_paused(7, CallbackId(1)));
        s.returned(CallbackId(1), 7, true);
        // Created again as a plugin context, it is no stream any more.
        s.created(7, 0);
        assert!(!s.is_paused(7, CallbackId(1)));
        assert_eq!(s.streams().len(), 0);
    }

    #[test]
    fn forget_context_drops_only_that_stream() {
        let mut s = PluginState::new();
        for id in 1..=3 {
            s.created(id, 100);
            s.returned(CallbackId(0), id, true);
        }
        s.forget_context(2);
        s.forget_context(2);
        s.forget_context(12345);
        assert_eq!(s.streams().len(), 2);
        assert!(s.is_paused(1, CallbackId(0)));
        assert!(!s.is_paused(2, CallbackId(0)));
        assert!(s.is_paused(3, CallbackId(0)));
        // A forgotten stream's callback returning late changes nothing.
        s.returned(CallbackId(0), 2, true);
        assert_eq!(s.streams().get(2), None);
    }

    #[test]
    fn a_clone_keeps_the_rules_view_but_not_the_instances() {
        let engine = wasmtime::Engine::default();
        let mut store = wasmtime::Store::new(&engine, ());
        let memory = wasmtime::Memory::new(&mut store, wasmtime::MemoryType::new(1, None))
            .expect("a one-page memory");
        let mut s = PluginState::new();
        s.enforce_access_rules(false);
        s.created(5, 1);
        s.returned(CallbackId(2), 5, true);
        let slot = s.slot(Exports {
            memory,
            allocator: None,
            instance: 1,
        });
        let running = Running::new(CallbackId(2), 5, false);
        s.enter(Some(running), Some(&slot));
        assert!(s.current_memory().is_some());
        assert!(s.current_allocator().is_none());

        let mut clone = s.clone();
        assert_ne!(clone.id, s.id);
        assert_eq!(clone.current, 0);
        assert!(clone.current_memory().is_none());
        assert!(!clone.access_rules_enforced());
        assert_eq!(clone.running(), Some(running));
        assert_eq!(clone.effective_context(), 5);
        assert!(clone.is_paused(5, CallbackId(2)));
        assert_eq!(clone.streams().len(), 1);
        // The original's slot names the original only.
        clone.enter(None, Some(&slot));
        assert_eq!(clone.current, 0);
    }

    #[test]
    fn debug_shows_the_rules_view() {
        let mut s = PluginState::new();
        s.created(5, 1);
        s.returned(CallbackId(1), 5, true);
        let text = format!("{s:?}");
        assert!(
            text.starts_with("PluginState { enforce: true, running: None"),
            "{text}"
        );
        assert!(
            text.contains("streams: {5: StreamState { paused: 2, passed: 0 }}"),
            "{text}"
        );
        assert!(text.ends_with(", .. }"), "{text}");
        assert_eq!(format!("{:?}", Streams::default()), "{}");
    }
}

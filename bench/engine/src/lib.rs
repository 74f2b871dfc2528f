//! engine.wasm_gz_bytes: a wasm32 cdylib whose exports reach every public
//! entry point of the engine (UserAgent commands, inputs and outputs) and
//! the event-body and SDP models the glue reads, so the linker keeps exactly
//! what the worker would carry for them. Built a second time with
//! `--features floor` (an allocator, wasm-bindgen's runtime and the random
//! source, which the worker has anyway); the engine's size is
//! gzip(this) − gzip(floor), both after wasm-bindgen as shipped. No
//! `#[wasm_bindgen]` exports: the glue's own cost is not the engine's.

#[cfg(not(feature = "floor"))]
mod engine {
    use ringside::call::CallHandle;
    use ringside::codec::headers::Replaces;
    use ringside::engine::{Event, Transport, UaConfig, UserAgent};
    use ringside::event::dialog_info::{BlfState, DialogInfo, DialogInfoTracker};
    use ringside::event::message_summary::MessageSummary;
    use ringside::event::pidf::Presence;
    use ringside::publication::PublicationHandle;
    use ringside::registration::RegistrationState;
    use ringside::sdp::Sdp;
    use ringside::subscription::SubscriptionHandle;
    use ringside::Instant;

    /// What a glue keeps next to its engine: handles it got from events.
    pub struct Glue {
        ua: UserAgent,
        calls: Vec<CallHandle>,
        replaces: Option<Replaces>,
        subscriptions: Vec<SubscriptionHandle>,
        publications: Vec<PublicationHandle>,
        tracker: DialogInfoTracker,
        out: Vec<u8>,
    }

    fn text<'a>(ptr: *const u8, len: usize) -> &'a str {
        if ptr.is_null() {
            return "";
        }
        // SAFETY: the caller hands in `len` readable bytes at `ptr`.
        let bytes = unsafe { std::slice::from_raw_parts(ptr, len) };
        std::str::from_utf8(bytes).unwrap_or("")
    }

    #[no_mangle]
    pub extern "C" fn engine_new(ptr: *const u8, len: usize, seed: u64, wss: u32) -> *mut Glue {
        let mut parts = text(ptr, len).split('\n');
        let mut next = || parts.next().unwrap_or("");
        let mut config = UaConfig::new(next(), next(), next());
        config.transport = if wss == 0 {
            Transport::Ws
        } else {
            Transport::Wss
        };
        config.display_name = Some(next().to_string()).filter(|s| !s.is_empty());
        Box::into_raw(Box::new(Glue {
            ua: UserAgent::new(config, seed),
            calls: Vec::new(),
            replaces: None,
            subscriptions: Vec::new(),
            publications: Vec::new(),
            tracker: DialogInfoTracker::new(),
            out: Vec::new(),
        }))
    }

    /// One input or command; `op` picks it, `arg`/`ptr,len` are its operands.
    /// Returns a small status (errors → nonzero), like a glue would log.
    #[no_mangle]
    pub extern "C" fn engine_input(
        glue: *mut Glue,
        op: u32,
        now: u64,
        arg: u32,
        ptr: *const u8,
        len: usize,
    ) -> u32 {
        // SAFETY: `glue` came from engine_new.
        let Some(g) = (unsafe { glue.as_mut() }) else {
            return 1;
        };
        let now = Instant::from_millis(now);
        let s = text(ptr, len);
        let call = g.calls.get(arg as usize).copied();
        let ok = |r: bool| u32::from(!r);
        match (op, call) {
            (0, _) => g.ua.handle_connected(now),
            (1, _) => g.ua.handle_disconnected(now),
            (2, _) => return ok(g.ua.handle_transport(now, s.as_bytes()).is_ok()),
            (3, _) => g.ua.handle_timeout(now),
            (4, _) => g.ua.register(now),
            (5, _) => g.ua.unregister(now),
            (6, _) => match g.ua.call(now, s, s) {
                Ok(c) => g.calls.push(c),
                Err(_) => return 1,
            },
            (7, Some(c)) => return ok(g.ua.answer(now, c, s).is_ok()),
            (8, Some(c)) => return ok(g.ua.reject(now, c, arg as u16).is_ok()),
            (9, Some(c)) => return ok(g.ua.redirect(now, c, s).is_ok()),
            (10, Some(c)) => return ok(g.ua.hangup(now, c).is_ok()),
            (11, Some(c)) => return ok(g.ua.hold(now, c).is_ok()),
            (12, Some(c)) => return ok(g.ua.resume(now, c).is_ok()),
            (13, Some(c)) => {
                return ok(g
                    .ua
                    .send_dtmf(now, c, s.chars().next().unwrap_or('1'), 160)
                    .is_ok())
            }
            (14, Some(c)) => return ok(g.ua.transfer_blind(now, c, s).is_ok()),
            (15, Some(c)) => {
                let other = g.calls.last().copied().unwrap_or(c);
                return ok(g.ua.transfer_attended(now, c, other).is_ok());
            }
            (16, Some(c)) => match g.ua.accept_transfer(now, c, s, g.replaces.as_ref(), s) {
                Ok(n) => g.calls.push(n),
                Err(_) => return 1,
            },
            (17, Some(c)) => return ok(g.ua.decline_transfer(now, c).is_ok()),
            (18, _) => match g.ua.subscribe(now, s, s, Some(s), arg) {
                Ok(h) => g.subscriptions.push(h),
                Err(_) => return 1,
            },
            (19, _) => {
                let Some(h) = g.subscriptions.pop() else {
                    return 1;
                };
                let status = g.ua.subscription_status(h).is_some();
                return ok(status && g.ua.unsubscribe(now, h).is_ok());
            }
            (20, _) => match g
                .ua
                .publish(now, "presence", "application/pidf+xml", s, arg)
            {
                Ok(h) => g.publications.push(h),
                Err(_) => return 1,
            },
            (21, _) => {
                let Some(&h) = g.publications.last() else {
                    return 1;
                };
                return ok(
                    g.ua.republish(now, h, s).is_ok() && g.ua.publication_status(h).is_some()
                );
            }
            (22, _) => {
                let Some(h) = g.publications.pop() else {
                    return 1;
                };
                return ok(g.ua.unpublish(now, h).is_ok());
            }
            (23, _) => return ok(g.ua.send_message(now, s, "text/plain", s).is_ok()),
            (24, Some(c)) => {
                return g.ua.call_state(c).map_or(0, |_| 1) + g.ua.calls().count() as u32
            }
            (25, _) => return u32::from(g.ua.is_connected()) + g.ua.transaction_count().0 as u32,
            _ => return 2,
        }
        0
    }

    /// Drains one transmit into the out buffer (length returned, 0 = none).
    #[no_mangle]
    pub extern "C" fn engine_poll_transmit(glue: *mut Glue) -> usize {
        // SAFETY: `glue` came from engine_new.
        let Some(g) = (unsafe { glue.as_mut() }) else {
            return 0;
        };
        match g.ua.poll_transmit() {
            Some(t) => {
                g.out = t.text.into_bytes();
                g.out.len()
            }
            None => 0,
        }
    }

    #[no_mangle]
    pub extern "C" fn engine_out(glue: *mut Glue) -> *const u8 {
        // SAFETY: `glue` came from engine_new.
        unsafe { glue.as_ref() }.map_or(std::ptr::null(), |g| g.out.as_ptr())
    }

    #[no_mangle]
    pub extern "C" fn engine_poll_timeout(glue: *mut Glue) -> u64 {
        // SAFETY: `glue` came from engine_new.
        unsafe { glue.as_ref() }
            .and_then(|g| g.ua.poll_timeout())
            .map_or(u64::MAX, |t| t.as_millis())
    }

    /// Drains one event and reads it the way the glue does (bodies parsed by
    /// the event models, SDP by the SDP model); returns a small digest.
    #[no_mangle]
    pub extern "C" fn engine_poll_event(glue: *mut Glue) -> u32 {
        // SAFETY: `glue` came from engine_new.
        let Some(g) = (unsafe { glue.as_mut() }) else {
            return 0;
        };
        let Some(event) = g.ua.poll_event() else {
            return 0;
        };
        match event {
            Event::IncomingCall {
                call, from, sdp, ..
            } => {
                g.calls.push(call);
                from.len() as u32
                    + sdp
                        .and_then(|s| Sdp::parse(&s).ok())
                        .map_or(0, |s| u32::from(s.has_video()))
            }
            Event::CallAnswered { sdp, .. } | Event::CallProgress { sdp, .. } => sdp
                .and_then(|s| Sdp::parse(&s).ok())
                .map_or(3, |s| s.direction() as u32),
            Event::TransferRequested {
                replaces, target, ..
            } => {
                g.replaces = replaces;
                target.len() as u32
            }
            Event::Notify { package, body, .. }
            | Event::UnsolicitedNotify { package, body, .. } => {
                let bytes = body.as_bytes();
                match package.as_str() {
                    "dialog" => DialogInfo::parse(bytes).map_or(5, |d| {
                        g.tracker.apply(&d);
                        u32::from(g.tracker.state() == BlfState::Idle)
                    }),
                    "message-summary" => MessageSummary::parse(bytes).map_or(6, |m| m.new_voice()),
                    _ => Presence::parse(bytes).map_or(7, |p| p.to_xml().len() as u32),
                }
            }
            Event::RegistrationChanged(state) => {
                u32::from(matches!(state, RegistrationState::Registered { .. }))
            }
            _ => 9,
        }
    }
}

#[cfg(feature = "floor")]
mod floor {
    /// Keeps the allocator, as every worker has one.
    #[no_mangle]
    pub extern "C" fn floor_alloc(len: usize) -> *mut u8 {
        let mut v = vec![0u8; len];
        let p = v.as_mut_ptr();
        std::mem::forget(v);
        p
    }

    /// Keeps wasm-bindgen's runtime and the crypto random source, which the
    /// worker has with or without the engine (and wasm-bindgen needs to run).
    #[cfg(target_arch = "wasm32")]
    #[no_mangle]
    pub extern "C" fn floor_random() -> u64 {
        uuid08::Uuid::new_v4().as_u128() as u64
    }
}

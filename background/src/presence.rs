//! Browser side of call handling: stores the configuration
//! (`call_handling` in chrome.storage.local), hands it and every status
//! change to the supervisor (`ringside::supervisor::inbound` applies it to
//! incoming calls and dials queue agent codes), and runs the office-hours
//! schedule: `ringside::schedule` decides, a chrome.alarms alarm at the next
//! boundary wakes the worker even if it slept, and the scheduler's last
//! answer is stored so a restart neither repeats nor misses a switch.

use std::cell::RefCell;

use gloo_timers::callback::Timeout;
use js_sys::Promise;
use ringside::presence::{Status, StatusChange};
use ringside::protocol::presence::{CallHandlingConfig, CALL_HANDLING_KEY};
use ringside::protocol::{Reply, Request, Snapshot};
use ringside::schedule::{next_boundary, Scheduler};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::{chrome, settings, with_worker};

const SCHEDULER_KEY: &str = "schedule_state";
/// Fires at the schedule's next boundary.
const SCHEDULE_ALARM: &str = "ringside-schedule";

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_namespace = ["chrome", "alarms"], js_name = create)]
    fn alarms_create(name: &str, info: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ["chrome", "alarms"], js_name = clear)]
    fn alarms_clear(name: &str) -> Result<Promise, JsValue>;
    #[wasm_bindgen(js_namespace = Date, js_name = now)]
    fn date_now() -> f64;
}

#[derive(Default)]
struct State {
    config: CallHandlingConfig,
    scheduler: Scheduler,
    /// The boundary while the worker is awake (alarms fire late, ≥ 30 s).
    timer: Option<Timeout>,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

fn with_state<R>(f: impl FnOnce(&mut State) -> R) -> Option<R> {
    STATE.with(|cell| cell.try_borrow_mut().ok().map(|mut s| f(&mut s)))
}

async fn settle(promise: Result<Promise, JsValue>) -> Result<JsValue, JsValue> {
    JsFuture::from(promise?).await
}

fn stored_text(items: &JsValue, key: &str) -> Option<String> {
    let value = js_sys::Reflect::get(items, &JsValue::from_str(key)).ok()?;
    if value.is_undefined() || value.is_null() {
        return None;
    }
    chrome::to_json(&value)
}

/// Minutes east of UTC in the browser's zone at `now_ms` (DST included).
fn browser_offset(now_ms: i64) -> i32 {
    let date = js_sys::Date::new(&JsValue::from_f64(now_ms as f64));
    -(date.get_timezone_offset() as i32)
}

/// After the worker exists: load, give the supervisor the configuration and
/// the stored status (no agent code is dialled for it), run the schedule.
pub async fn load() {
    let local = chrome::storage_get(&[CALL_HANDLING_KEY, SCHEDULER_KEY])
        .await
        .unwrap_or(JsValue::UNDEFINED);
    let config = stored_text(&local, CALL_HANDLING_KEY)
        .map(|t| CallHandlingConfig::from_stored(&t))
        .unwrap_or_default();
    let scheduler = stored_text(&local, SCHEDULER_KEY)
        .and_then(|t| serde_json::from_str::<Scheduler>(&t).ok())
        .unwrap_or_default();
    with_state(|s| {
        s.config = config.clone();
        s.scheduler = scheduler;
    });
    let status = settings::decorate(Snapshot::unregistered()).presence.status;
    with_worker(|w| {
        w.input(|s, now| {
            s.set_call_handling(config);
            s.set_status(now, status, false);
        })
    });
    tick(date_now() as i64).await;
}

/// The user's status changed (popup, schedule, a temporary status ending).
pub fn status_changed(status: Status) {
    with_worker(|w| w.input(|s, now| s.set_status(now, status, true)));
}

/// Evaluate the schedule at `now_ms`: switch the status if its period
/// changed, store the scheduler, arm the next boundary.
async fn tick(now_ms: i64) {
    let Some((schedule, switch, scheduler)) = with_state(|s| {
        let schedule = s.config.schedule.clone();
        let offset = schedule
            .utc_offset_minutes
            .unwrap_or_else(|| browser_offset(now_ms));
        let switch = s.scheduler.tick(&schedule, now_ms, offset);
        s.timer = None;
        (schedule, switch, s.scheduler.clone())
    }) else {
        return;
    };
    if let Ok(json) = serde_json::to_string(&scheduler) {
        if chrome::storage_set(SCHEDULER_KEY, &chrome::from_json(&json))
            .await
            .is_err()
        {
            chrome::warn("ringside: cannot store the schedule state");
        }
    }
    if let Some(status) = switch {
        chrome::log(&format!("ringside: schedule sets {}", status.as_str()));
        let change = StatusChange {
            status,
            note: String::new(),
            until: None,
        };
        if let Reply::Error { error } = settings::set_status(&change).await {
            chrome::warn(&format!(
                "ringside: schedule status refused: {:?}",
                error.code
            ));
        }
    }
    let _ = settle(alarms_clear(SCHEDULE_ALARM)).await;
    if !schedule.enabled {
        return;
    }
    // The boundary of the real clock: a tick at a chosen time (tests,
    // diagnostics) must not arm alarms in the past or far future.
    let real_now = date_now() as i64;
    let offset = schedule
        .utc_offset_minutes
        .unwrap_or_else(|| browser_offset(real_now));
    let at = next_boundary(&schedule, real_now, offset);
    let info = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&info, &"when".into(), &JsValue::from_f64(at as f64));
    if settle(alarms_create(SCHEDULE_ALARM, &info)).await.is_err() {
        chrome::warn("ringside: cannot create the schedule alarm");
    }
    let delay = (at - real_now).clamp(0, i64::from(i32::MAX)) as u32;
    let timer = Timeout::new(delay, || {
        wasm_bindgen_futures::spawn_local(tick(date_now() as i64));
    });
    with_state(|s| s.timer = Some(timer));
}

/// `chrome.alarms.onAlarm`; true if the alarm was this module's.
pub fn on_alarm(name: &str) -> bool {
    if name != SCHEDULE_ALARM {
        return false;
    }
    wasm_bindgen_futures::spawn_local(tick(date_now() as i64));
    true
}

fn snapshot_reply() -> Reply {
    Reply::Snapshot {
        snapshot: settings::decorate(
            with_worker(|w| w.supervisor.snapshot()).unwrap_or_else(Snapshot::unregistered),
        ),
    }
}

/// The stored call handling (statuses' default messages).
pub fn call_handling() -> CallHandlingConfig {
    with_state(|s| s.config.clone()).unwrap_or_default()
}

/// This module's requests; `Err` hands any other request back.
pub async fn handle(request: Request) -> Result<Reply, Request> {
    match request {
        Request::GetCallHandling => Ok(Reply::CallHandling {
            config: with_state(|s| s.config.clone()).unwrap_or_default(),
        }),
        Request::SetCallHandling { config } => {
            let errors = config.validate();
            if !errors.is_empty() {
                return Ok(Reply::CallHandlingInvalid { errors });
            }
            let Ok(json) = serde_json::to_string(&config) else {
                return Ok(Reply::error(ringside::protocol::ErrorCode::StorageFailed));
            };
            if chrome::storage_set(CALL_HANDLING_KEY, &chrome::from_json(&json))
                .await
                .is_err()
            {
                return Ok(Reply::error(ringside::protocol::ErrorCode::StorageFailed));
            }
            with_state(|s| s.config = config.clone());
            with_worker(|w| w.input(|s, _| s.set_call_handling(config.clone())));
            tick(date_now() as i64).await;
            Ok(Reply::CallHandling { config })
        }
        Request::ScheduleTick { now_ms } => {
            tick(now_ms).await;
            Ok(snapshot_reply())
        }
        other => Err(other),
    }
}

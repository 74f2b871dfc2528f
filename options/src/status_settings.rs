//! Options page → "Statuses and incoming calls": what each status does with
//! internal and external calls (ring, forward always / when busy / on no
//! answer, reject, ring timeout) and its queue agent action, the
//! office-hours schedule, the caller-number rules ([`crate::rules`]) and
//! auto-answer.
//!
//! The configuration is the worker's (`get_call_handling`); the form edits a
//! copy and sends it whole on every change, like the rest of Settings. A
//! refusal marks the fields the worker names and keeps the edit on screen.

use std::rc::Rc;

use ringside::presence::Status;
use ringside::protocol::presence::{
    CallHandlingConfig, FieldError, FirstAction, Handling, Holiday, TimeRange,
    AUTO_ANSWER_MAX_DELAY_S, MAX_HOLIDAYS, RING_TIMEOUT_MAX_S, RING_TIMEOUT_MIN_S,
};
use ringside::protocol::{Reply, Request};
use ringside::settings::Language;
use ringside::ui_call_handling::{
    agent_choice, agent_from, agent_key, error_at, error_status, first_action_choice,
    first_action_from, normalize, status_index, target_choice, target_from, target_number,
    toggle_day, unplaced_errors, AGENT_CHOICES, WEEKDAYS,
};
use ringside::ui_edit::{apply_edit, ListEdit};
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use ringside_ui::chrome;
use ringside_ui::i18n::{tr, use_language};

/// A change to the draft from an input's value.
type Change = Rc<dyn Fn(&mut CallHandlingConfig, String)>;

/// A select's or text input's value; a checkbox's `"true"`/`"false"`.
fn event_value(e: &Event) -> String {
    if let Some(select) = e.target_dyn_into::<HtmlSelectElement>() {
        return select.value();
    }
    let input: HtmlInputElement = e.target_unchecked_into();
    if input.type_() == "checkbox" {
        input.checked().to_string()
    } else {
        input.value()
    }
}

fn handling_mut(
    config: &mut CallHandlingConfig,
    index: usize,
    external: bool,
) -> Option<&mut Handling> {
    config.statuses.get_mut(index).map(|h| {
        if external {
            &mut h.external
        } else {
            &mut h.internal
        }
    })
}

/// The `<p>` under an input the worker refused, and the input's ARIA.
fn field_error(lang: Language, errors: &[FieldError], path: &str, id: &str) -> (Html, bool) {
    match error_at(errors, path) {
        Some(key) => (
            html! { <p id={format!("{id}-error")} class="error">{ tr(lang, key, &[]) }</p> },
            true,
        ),
        None => (html! {}, false),
    }
}

fn status_options(lang: Language, selected: Status) -> Html {
    Status::ALL
        .iter()
        .map(|s| {
            html! {
                <option value={s.as_str()} selected={*s == selected}>{ tr(lang, s.message_key(), &[]) }</option>
            }
        })
        .collect()
}

fn parse_status(value: &str) -> Option<Status> {
    Status::ALL.into_iter().find(|s| s.as_str() == value)
}

#[function_component(CallHandlingSettings)]
pub fn call_handling_settings() -> Html {
    let lang = use_language();
    let config = use_state(|| None::<CallHandlingConfig>);
    let errors = use_state(Vec::<FieldError>::new);
    let notice = use_state(|| None::<&'static str>);
    let status = use_state(|| Status::Available);
    {
        let (config, notice) = (config.clone(), notice.clone());
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                match chrome::request(&Request::GetCallHandling).await {
                    Ok(Reply::CallHandling { config: loaded }) => {
                        config.set(Some(normalize(&loaded)))
                    }
                    _ => notice.set(Some("errWorkerUnavailable")),
                }
            });
        });
    }
    // The draft as last sent: two changes before a re-render must not undo
    // each other.
    let latest = use_mut_ref(|| None::<CallHandlingConfig>);
    // Only the answer to the last change counts: the worker may answer two
    // quick changes out of order (storage writes), and an older "saved"
    // must not clear the newer refusal.
    let sent = use_mut_ref(|| 0u32);
    let Some(cfg) = (*config).clone() else {
        return html! {
            <section aria-labelledby="settings-call-handling">
                <h2 id="settings-call-handling">{ tr(lang, "settingsCallHandling", &[]) }</h2>
                if let Some(key) = *notice {
                    <p class="form-error" role="alert">{ tr(lang, key, &[]) }</p>
                }
            </section>
        };
    };
    let current: Rc<dyn Fn() -> CallHandlingConfig> = {
        let (latest, cfg) = (latest.clone(), cfg.clone());
        Rc::new(move || latest.borrow().clone().unwrap_or_else(|| cfg.clone()))
    };
    let save: Rc<dyn Fn(CallHandlingConfig)> = {
        let (config, errors, notice, latest, sent) = (
            config.clone(),
            errors.clone(),
            notice.clone(),
            latest.clone(),
            sent.clone(),
        );
        Rc::new(move |next: CallHandlingConfig| {
            *latest.borrow_mut() = Some(next.clone());
            config.set(Some(next.clone()));
            let number = {
                let mut sent = sent.borrow_mut();
                *sent = sent.wrapping_add(1);
                *sent
            };
            let (config, errors, notice, sent) =
                (config.clone(), errors.clone(), notice.clone(), sent.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let reply = chrome::request(&Request::SetCallHandling { config: next }).await;
                if *sent.borrow() != number {
                    return;
                }
                match reply {
                    Ok(Reply::CallHandling { config: stored }) => {
                        config.set(Some(normalize(&stored)));
                        errors.set(Vec::new());
                        notice.set(Some("settingsSaved"));
                    }
                    Ok(Reply::CallHandlingInvalid { errors: refused }) => {
                        errors.set(refused);
                        notice.set(Some("errCallHandlingInvalid"));
                    }
                    _ => notice.set(Some("errSettingsFailed")),
                }
            });
        })
    };
    let change = {
        let (save, current) = (save.clone(), current.clone());
        move |f: Change| {
            let (save, current) = (save.clone(), current.clone());
            Callback::from(move |e: Event| {
                let mut next = current();
                f(&mut next, event_value(&e));
                save(next);
            })
        }
    };
    let errs: &[FieldError] = &errors;
    let idx = status_index(*status);
    let shown_status = cfg.statuses.get(idx).cloned();

    // Per-status handling.
    let handling_fields = |external: bool, h: &Handling| -> Html {
        let which = if external { "external" } else { "internal" };
        let base = format!("statuses.{idx}.{which}");
        let on = |f: fn(&mut Handling, String)| {
            change(Rc::new(move |c: &mut CallHandlingConfig, v: String| {
                if let Some(h) = handling_mut(c, idx, external) {
                    f(h, v);
                }
            }))
        };
        let on_action = on(|h, v| h.action = first_action_from(&v, &h.action));
        let forward_to = match &h.action {
            FirstAction::Forward { to } => Some(to.clone()),
            _ => None,
        };
        let on_forward = on(|h, v| {
            let number = match &h.action {
                FirstAction::Forward { to } => target_number(Some(to)).to_owned(),
                _ => String::new(),
            };
            if let Some(to) = target_from(&v, &number) {
                h.action = FirstAction::Forward { to };
            }
        });
        let on_forward_number = on(|h, v| {
            if let Some(to) = target_from("number", &v) {
                h.action = FirstAction::Forward { to };
            }
        });
        let on_busy = on(|h, v| h.when_busy = target_from(&v, target_number(h.when_busy.as_ref())));
        let on_busy_number = on(|h, v| h.when_busy = target_from("number", &v));
        let on_no_answer =
            on(|h, v| h.no_answer = target_from(&v, target_number(h.no_answer.as_ref())));
        let on_no_answer_number = on(|h, v| h.no_answer = target_from("number", &v));
        let on_timeout = on(|h, v| {
            // Out-of-range numbers are sent as typed: the worker says why.
            if let Ok(s) = v.trim().parse::<u16>() {
                h.ring_timeout_s = s;
            } else {
                h.ring_timeout_s = 0;
            }
        });
        let id = |name: &str| format!("ch-{which}-{name}");
        let (action_error, action_invalid) =
            field_error(lang, errs, &format!("{base}.action"), &id("forward-number"));
        let (busy_error, busy_invalid) =
            field_error(lang, errs, &format!("{base}.when_busy"), &id("busy-number"));
        let (na_error, na_invalid) = field_error(
            lang,
            errs,
            &format!("{base}.no_answer"),
            &id("noanswer-number"),
        );
        let (to_error, to_invalid) = field_error(
            lang,
            errs,
            &format!("{base}.ring_timeout_s"),
            &id("timeout"),
        );
        let target_select = |name: &str,
                             choice: &'static str,
                             none_key: Option<&'static str>,
                             onchange: Callback<Event>| {
            html! {
                <select id={id(name)} {onchange}>
                    if let Some(none_key) = none_key {
                        <option value="none" selected={choice == "none"}>{ tr(lang, none_key, &[]) }</option>
                    }
                    <option value="number" selected={choice == "number"}>{ tr(lang, "targetNumber", &[]) }</option>
                    <option value="voicemail" selected={choice == "voicemail"}>{ tr(lang, "targetVoicemail", &[]) }</option>
                </select>
            }
        };
        let number_input = |name: &str,
                            value: &str,
                            invalid: bool,
                            onchange: Callback<Event>,
                            label: String| {
            html! {
                <div class="field">
                    <label for={id(name)}>{ label }</label>
                    <input id={id(name)} type="text" inputmode="tel" value={value.to_owned()}
                        aria-invalid={if invalid { "true" } else { "false" }}
                        aria-describedby={invalid.then(|| format!("{}-error", id(name)))} {onchange} />
                </div>
            }
        };
        let legend = if external {
            tr(lang, "callersExternal", &[])
        } else {
            tr(lang, "callersInternal", &[])
        };
        let action = first_action_choice(&h.action);
        let busy = target_choice(h.when_busy.as_ref());
        let no_answer = target_choice(h.no_answer.as_ref());
        html! {
            <fieldset class="handling" id={format!("ch-{which}")}>
                <legend>{ legend }</legend>
                <div class="field">
                    <label for={id("action")}>{ tr(lang, "labelFirstAction", &[]) }</label>
                    <select id={id("action")} onchange={on_action}>
                        <option value="ring" selected={action == "ring"}>{ tr(lang, "actionRing", &[]) }</option>
                        <option value="forward" selected={action == "forward"}>{ tr(lang, "actionForwardAlways", &[]) }</option>
                        <option value="reject" selected={action == "reject"}>{ tr(lang, "actionReject", &[]) }</option>
                    </select>
                </div>
                if let Some(to) = &forward_to {
                    <div class="field">
                        <label for={id("forward")}>{ tr(lang, "labelForwardTo", &[]) }</label>
                        { target_select("forward", target_choice(Some(to)), None, on_forward) }
                    </div>
                    if target_choice(Some(to)) == "number" {
                        { number_input("forward-number", target_number(Some(to)), action_invalid, on_forward_number, tr(lang, "labelForwardNumber", &[])) }
                    }
                    { action_error }
                }
                if action == "ring" {
                    <div class="field">
                        <label for={id("busy")}>{ tr(lang, "labelWhenBusy", &[]) }</label>
                        { target_select("busy", busy, Some("targetRingWaiting"), on_busy) }
                    </div>
                    if busy == "number" {
                        { number_input("busy-number", target_number(h.when_busy.as_ref()), busy_invalid, on_busy_number, tr(lang, "labelBusyNumber", &[])) }
                    }
                    { busy_error }
                    <div class="field">
                        <label for={id("noanswer")}>{ tr(lang, "labelNoAnswer", &[]) }</label>
                        { target_select("noanswer", no_answer, Some("targetKeepRinging"), on_no_answer) }
                    </div>
                    if no_answer == "number" {
                        { number_input("noanswer-number", target_number(h.no_answer.as_ref()), na_invalid, on_no_answer_number, tr(lang, "labelNoAnswerNumber", &[])) }
                    }
                    { na_error }
                    if no_answer != "none" {
                        <div class="field">
                            <label for={id("timeout")}>{ tr(lang, "labelRingTimeout", &[]) }</label>
                            <input id={id("timeout")} type="number" min={RING_TIMEOUT_MIN_S.to_string()}
                                max={RING_TIMEOUT_MAX_S.to_string()} value={h.ring_timeout_s.to_string()}
                                aria-invalid={if to_invalid { "true" } else { "false" }}
                                aria-describedby={to_invalid.then(|| format!("{}-error", id("timeout")))}
                                onchange={on_timeout} />
                        </div>
                        { to_error }
                    }
                }
            </fieldset>
        }
    };

    let agent = shown_status
        .as_ref()
        .map(|h| h.agent.clone())
        .unwrap_or_default();
    let agent_now = agent_choice(&agent);
    let reason = match &agent {
        ringside::protocol::presence::AgentAction::Pause { reason } => reason.clone(),
        _ => String::new(),
    };
    let on_agent = change(Rc::new(move |c: &mut CallHandlingConfig, v: String| {
        if let Some(h) = c.statuses.get_mut(idx) {
            let reason = match &h.agent {
                ringside::protocol::presence::AgentAction::Pause { reason } => reason.clone(),
                _ => String::new(),
            };
            h.agent = agent_from(&v, &reason);
        }
    }));
    let message = shown_status
        .as_ref()
        .map(|h| h.message.clone())
        .unwrap_or_default();
    let (message_error, message_invalid) =
        field_error(lang, errs, &format!("statuses.{idx}.message"), "ch-message");
    let on_message = change(Rc::new(move |c: &mut CallHandlingConfig, v: String| {
        if let Some(h) = c.statuses.get_mut(idx) {
            h.message = v;
        }
    }));
    let on_reason = change(Rc::new(move |c: &mut CallHandlingConfig, v: String| {
        if let Some(h) = c.statuses.get_mut(idx) {
            h.agent = agent_from("pause", &v);
        }
    }));
    let on_status = {
        let status = status.clone();
        Callback::from(move |e: Event| {
            if let Some(s) = parse_status(&event_value(&e)) {
                status.set(s);
            }
        })
    };
    let code_input = |id: &'static str,
                      label: &'static str,
                      path: &'static str,
                      value: &str,
                      f: fn(&mut CallHandlingConfig, String)| {
        let onchange = change(Rc::new(move |c: &mut CallHandlingConfig, v: String| {
            f(c, v.trim().to_owned())
        }));
        let (error, invalid) = field_error(lang, errs, path, id);
        html! {
            <div class="field">
                <label for={id}>{ tr(lang, label, &[]) }</label>
                <input {id} type="text" inputmode="tel" value={value.to_owned()}
                    aria-invalid={if invalid { "true" } else { "false" }}
                    aria-describedby={invalid.then(|| format!("{id}-error"))} {onchange} />
                { error }
            </div>
        }
    };
    let internal_text = cfg.internal_patterns.join(", ");
    let on_internal = change(Rc::new(|c: &mut CallHandlingConfig, v: String| {
        c.internal_patterns = v
            .split([',', ' ', '，'])
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect();
    }));
    let (internal_error, internal_invalid) =
        field_error(lang, errs, "internal_patterns", "ch-internal");

    // Schedule.
    let sched = &cfg.schedule;
    let time_input = |id: &'static str,
                      label: &'static str,
                      path: &'static str,
                      value: &str,
                      f: fn(&mut CallHandlingConfig, String)| {
        let onchange = change(Rc::new(move |c: &mut CallHandlingConfig, v: String| {
            f(c, v)
        }));
        let (error, invalid) = field_error(lang, errs, path, id);
        html! {
            <div class="field">
                <label for={id}>{ tr(lang, label, &[]) }</label>
                <input {id} type="time" value={value.to_owned()}
                    aria-invalid={if invalid { "true" } else { "false" }}
                    aria-describedby={invalid.then(|| format!("{id}-error"))} {onchange} />
                { error }
            </div>
        }
    };
    let status_select = |id: &'static str,
                         label: &'static str,
                         value: Status,
                         f: fn(&mut CallHandlingConfig, Status)| {
        let onchange = change(Rc::new(move |c: &mut CallHandlingConfig, v: String| {
            if let Some(s) = parse_status(&v) {
                f(c, s);
            }
        }));
        html! {
            <div class="field">
                <label for={id}>{ tr(lang, label, &[]) }</label>
                <select {id} {onchange}>{ status_options(lang, value) }</select>
            </div>
        }
    };
    let days = WEEKDAYS.iter().map(|(day, key)| {
        let day = *day;
        let onchange = change(Rc::new(move |c: &mut CallHandlingConfig, v: String| {
            c.schedule.days = toggle_day(&c.schedule.days, day, v == "true");
        }));
        let id = format!("ch-day-{day}");
        html! {
            <span class="day">
                <input id={id.clone()} type="checkbox" checked={sched.days.contains(&day)} {onchange} />
                <label for={id}>{ tr(lang, key, &[]) }</label>
            </span>
        }
    });
    let (days_error, _) = field_error(lang, errs, "schedule.days", "ch-days");
    let holidays = sched.holidays.iter().enumerate().map(|(i, h)| {
        let set = |f: fn(&mut Holiday, String)| {
            change(Rc::new(move |c: &mut CallHandlingConfig, v: String| {
                if let Some(h) = c.schedule.holidays.get_mut(i) {
                    f(h, v);
                }
            }))
        };
        let delete = {
            let (save, current) = (save.clone(), current.clone());
            Callback::from(move |_: MouseEvent| {
                let mut next = current();
                next.schedule.holidays = apply_edit(&next.schedule.holidays, ListEdit::Delete(i), MAX_HOLIDAYS);
                save(next);
                ringside_ui::focus("ch-holiday-add");
            })
        };
        let path = format!("schedule.holidays.{i}");
        let (error, invalid) = field_error(lang, errs, &path, &format!("ch-holiday-{i}"));
        let n = (i + 1).to_string();
        html! {
            <li class="holiday" aria-invalid={if invalid { "true" } else { "false" }}>
                <div class="field">
                    <label for={format!("ch-holiday-{i}-name")}>{ tr(lang, "labelHolidayName", &[&n]) }</label>
                    <input id={format!("ch-holiday-{i}-name")} type="text" value={h.name.clone()} onchange={set(|h, v| h.name = v)} />
                </div>
                <div class="row">
                    <div class="field">
                        <label for={format!("ch-holiday-{i}-from")}>{ tr(lang, "labelHolidayFrom", &[]) }</label>
                        <input id={format!("ch-holiday-{i}-from")} type="date" value={h.from.clone()} onchange={set(|h, v| h.from = v)} />
                    </div>
                    <div class="field">
                        <label for={format!("ch-holiday-{i}-to")}>{ tr(lang, "labelHolidayTo", &[]) }</label>
                        <input id={format!("ch-holiday-{i}-to")} type="date" value={h.to.clone()} onchange={set(|h, v| h.to = v)} />
                    </div>
                </div>
                { error }
                <button type="button" class="secondary danger small-button" id={format!("ch-holiday-{i}-delete")}
                    aria-label={tr(lang, "holidayDeleteFor", &[&n])} onclick={delete}>{ tr(lang, "buttonDelete", &[]) }</button>
            </li>
        }
    });
    let add_holiday = {
        let (save, current) = (save.clone(), current.clone());
        Callback::from(move |_: MouseEvent| {
            let mut next = current();
            let today = today_iso();
            let n = next.schedule.holidays.len();
            next.schedule.holidays = apply_edit(
                &next.schedule.holidays,
                ListEdit::Add(Holiday {
                    name: String::new(),
                    from: today.clone(),
                    to: today,
                }),
                MAX_HOLIDAYS,
            );
            save(next);
            ringside_ui::focus(&format!("ch-holiday-{n}-name"));
        })
    };
    let break_on = sched.break_time.is_some();
    let on_break = change(Rc::new(|c: &mut CallHandlingConfig, v: String| {
        c.schedule.break_time = (v == "true").then(|| TimeRange {
            start: "12:00".into(),
            end: "13:00".into(),
        });
    }));

    // Auto-answer.
    let aa = &cfg.auto_answer;
    let check = |id: &'static str,
                 label: &'static str,
                 checked: bool,
                 f: fn(&mut CallHandlingConfig, bool)| {
        let onchange = change(Rc::new(move |c: &mut CallHandlingConfig, v: String| {
            f(c, v == "true")
        }));
        html! {
            <div class="check">
                <input {id} type="checkbox" {checked} {onchange} />
                <label for={id}>{ tr(lang, label, &[]) }</label>
            </div>
        }
    };
    let on_delay = change(Rc::new(|c: &mut CallHandlingConfig, v: String| {
        // 255 is out of range on purpose: the worker names the field.
        c.auto_answer.delay_s = v.trim().parse().unwrap_or(u8::MAX);
    }));
    let (delay_error, delay_invalid) = field_error(lang, errs, "auto_answer.delay_s", "aa-delay");

    // Errors no shown input holds.
    let shown: Vec<String> = vec![
        format!("statuses.{idx}.internal"),
        format!("statuses.{idx}.external"),
        "agent_codes".into(),
        "internal_patterns".into(),
        "schedule".into(),
        "rules".into(),
        "auto_answer.delay_s".into(),
    ];
    let unplaced = unplaced_errors(errs, &shown);
    let rules_errors: Vec<FieldError> = errs
        .iter()
        .filter(|e| e.field.starts_with("rules"))
        .cloned()
        .collect();
    let on_rules = {
        let (save, current) = (save.clone(), current.clone());
        Callback::from(move |rules| {
            let mut next = current();
            next.rules = rules;
            save(next);
        })
    };

    html! {
        <section aria-labelledby="settings-call-handling" class="call-handling">
            <h2 id="settings-call-handling">{ tr(lang, "settingsCallHandling", &[]) }</h2>
            if !unplaced.is_empty() {
                <ul id="ch-errors" class="form-error">
                    { for unplaced.iter().map(|e| {
                        let text = tr(lang, e.error.message_key(), &[]);
                        let text = match error_status(&e.field) {
                            Some(s) => format!("{}: {text}", tr(lang, s.message_key(), &[])),
                            None => text,
                        };
                        html! { <li>{ text }</li> }
                    }) }
                </ul>
            }
            <details id="ch-statuses">
                <summary>{ tr(lang, "chStatuses", &[]) }</summary>
                <div class="field">
                    <label for="ch-status">{ tr(lang, "labelForStatus", &[]) }</label>
                    <select id="ch-status" onchange={on_status}>{ status_options(lang, *status) }</select>
                </div>
                <div class="field">
                    <label for="ch-message">{ tr(lang, "labelStatusMessage", &[]) }</label>
                    <input id="ch-message" type="text" maxlength={ringside::presence::MAX_NOTE_CHARS.to_string()}
                        value={message}
                        aria-invalid={if message_invalid { "true" } else { "false" }}
                        aria-describedby={message_invalid.then(|| "ch-message-error".to_owned())}
                        onchange={on_message} />
                </div>
                { message_error }
                if let Some(h) = &shown_status {
                    { handling_fields(false, &h.internal) }
                    { handling_fields(true, &h.external) }
                }
                <div class="field">
                    <label for="ch-agent">{ tr(lang, "labelAgentAction", &[]) }</label>
                    <select id="ch-agent" onchange={on_agent}>
                        { for AGENT_CHOICES.iter().map(|c| html! {
                            <option value={*c} selected={*c == agent_now}>{ tr(lang, agent_key(c), &[]) }</option>
                        }) }
                    </select>
                </div>
                if agent_now == "pause" {
                    <div class="field">
                        <label for="ch-agent-reason">{ tr(lang, "labelPauseReason", &[]) }</label>
                        <input id="ch-agent-reason" type="text" inputmode="numeric" value={reason} onchange={on_reason} />
                    </div>
                }
                <fieldset>
                    <legend>{ tr(lang, "legendAgentCodes", &[]) }</legend>
                    { code_input("ch-code-login", "labelAgentLoginCode", "agent_codes.login", &cfg.agent_codes.login, |c, v| c.agent_codes.login = v) }
                    { code_input("ch-code-logout", "labelAgentLogoutCode", "agent_codes.logout", &cfg.agent_codes.logout, |c, v| c.agent_codes.logout = v) }
                    { code_input("ch-code-pause", "labelAgentPauseCode", "agent_codes.pause", &cfg.agent_codes.pause, |c, v| c.agent_codes.pause = v) }
                    { code_input("ch-code-unpause", "labelAgentUnpauseCode", "agent_codes.unpause", &cfg.agent_codes.unpause, |c, v| c.agent_codes.unpause = v) }
                </fieldset>
                <div class="field">
                    <label for="ch-internal">{ tr(lang, "labelInternalPatterns", &[]) }</label>
                    <input id="ch-internal" type="text" value={internal_text} onchange={on_internal}
                        aria-invalid={if internal_invalid { "true" } else { "false" }}
                        aria-describedby={if internal_invalid { "ch-internal-error ch-internal-hint" } else { "ch-internal-hint" }} />
                    <p id="ch-internal-hint" class="hint">{ tr(lang, "hintInternalPatterns", &[]) }</p>
                    { internal_error }
                </div>
            </details>
            <details id="ch-schedule">
                <summary>{ tr(lang, "chSchedule", &[]) }</summary>
                { check("ch-schedule-enabled", "labelScheduleEnabled", sched.enabled, |c, v| c.schedule.enabled = v) }
                <fieldset id="ch-days">
                    <legend>{ tr(lang, "legendOfficeDays", &[]) }</legend>
                    <div class="days">{ for days }</div>
                    { days_error }
                </fieldset>
                <div class="row">
                    { time_input("ch-office-start", "labelOfficeStart", "schedule.office.start", &sched.office.start, |c, v| c.schedule.office.start = v) }
                    { time_input("ch-office-end", "labelOfficeEnd", "schedule.office.end", &sched.office.end, |c, v| c.schedule.office.end = v) }
                </div>
                <div class="check">
                    <input id="ch-break-enabled" type="checkbox" checked={break_on} onchange={on_break} />
                    <label for="ch-break-enabled">{ tr(lang, "labelBreakEnabled", &[]) }</label>
                </div>
                if let Some(b) = &sched.break_time {
                    <div class="row">
                        { time_input("ch-break-start", "labelBreakStart", "schedule.break_time.start", &b.start, |c, v| if let Some(b) = c.schedule.break_time.as_mut() { b.start = v }) }
                        { time_input("ch-break-end", "labelBreakEnd", "schedule.break_time.end", &b.end, |c, v| if let Some(b) = c.schedule.break_time.as_mut() { b.end = v }) }
                    </div>
                }
                { status_select("ch-office-status", "labelOfficeStatus", sched.office_status, |c, s| c.schedule.office_status = s) }
                { status_select("ch-break-status", "labelBreakStatus", sched.break_status, |c, s| c.schedule.break_status = s) }
                { status_select("ch-outside-status", "labelOutsideStatus", sched.outside_status, |c, s| c.schedule.outside_status = s) }
                { status_select("ch-holiday-status", "labelHolidayStatus", sched.holiday_status, |c, s| c.schedule.holiday_status = s) }
                <h3 class="subhead">{ tr(lang, "headHolidays", &[]) }</h3>
                <ul id="ch-holidays" class="holidays">{ for holidays }</ul>
                <button id="ch-holiday-add" type="button" class="secondary" onclick={add_holiday}
                    disabled={sched.holidays.len() >= MAX_HOLIDAYS}>{ tr(lang, "buttonAddHoliday", &[]) }</button>
                <p class="hint">{ tr(lang, "hintSchedulePriority", &[]) }</p>
            </details>
            <details id="ch-rules">
                <summary>{ tr(lang, "chRules", &[]) }</summary>
                <crate::rules::RulesEditor rules={cfg.rules.clone()} errors={rules_errors} on_change={on_rules} />
            </details>
            <details id="ch-auto-answer">
                <summary>{ tr(lang, "chAutoAnswer", &[]) }</summary>
                { check("aa-enabled", "labelAutoAnswer", aa.enabled, |c, v| c.auto_answer.enabled = v) }
                <div class="field">
                    <label for="aa-delay">{ tr(lang, "labelAutoAnswerDelay", &[]) }</label>
                    <input id="aa-delay" type="number" min="0" max={AUTO_ANSWER_MAX_DELAY_S.to_string()}
                        value={aa.delay_s.to_string()} onchange={on_delay}
                        aria-invalid={if delay_invalid { "true" } else { "false" }}
                        aria-describedby={delay_invalid.then_some("aa-delay-error")} />
                    { delay_error }
                </div>
                { check("aa-beep", "labelAutoAnswerBeep", aa.beep, |c, v| c.auto_answer.beep = v) }
                { check("aa-intercom", "labelAutoAnswerIntercom", aa.intercom, |c, v| c.auto_answer.intercom = v) }
                { check("aa-barge", "labelBargeIn", aa.barge_in, |c, v| c.auto_answer.barge_in = v) }
            </details>
            if let Some(key) = *notice {
                <p id="ch-notice" class={if key.starts_with("err") { "form-error" } else { "notice" }}
                    role={if key.starts_with("err") { "alert" } else { "status" }}>{ tr(lang, key, &[]) }</p>
            }
        </section>
    }
}

/// Today's local date as `YYYY-MM-DD`, a new holiday's first guess.
fn today_iso() -> String {
    let now = js_sys::Date::new_0();
    format!(
        "{:04}-{:02}-{:02}",
        now.get_full_year(),
        now.get_month() + 1,
        now.get_date()
    )
}

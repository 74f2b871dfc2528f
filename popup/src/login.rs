//! The login screen: the account form (ids per CONTRACT section 3),
//! "remember password", and the worker's answer with what to do next.

use std::rc::Rc;

use ringside::account::{Account, AccountError, Field, ServerUrl};
use ringside::protocol::popup::PopupReply;
use ringside::protocol::{ErrorCode, RegState, Request, Snapshot};
use ringside::settings::Language;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::chrome;
use crate::i18n::{tr, use_language};

#[derive(Properties, PartialEq)]
pub struct StatusProps {
    pub snapshot: Option<Snapshot>,
    pub unavailable: bool,
    /// False where the header already shows `#reg-state`: only the hint
    /// and the certificate link, and nothing while all is well.
    #[prop_or(true)]
    pub sentence: bool,
}

pub fn sentence(lang: Language, snapshot: &Snapshot) -> String {
    let key = snapshot.state.message_key();
    match snapshot.state {
        RegState::Registered => tr(lang, key, &[snapshot.aor.as_deref().unwrap_or_default()]),
        RegState::Unreachable | RegState::TlsError => {
            tr(lang, key, &[snapshot.server.as_deref().unwrap_or_default()])
        }
        RegState::Rejected => {
            let code = match (snapshot.status_code, &snapshot.reason) {
                (Some(code), Some(reason)) => format!("{code} {reason}"),
                (Some(code), None) => code.to_string(),
                _ => String::new(),
            };
            tr(lang, key, &[&code])
        }
        _ => tr(lang, key, &[]),
    }
}

/// `#reg-state` with what to do next.
#[function_component(StatusView)]
pub fn status_view(props: &StatusProps) -> Html {
    let lang = use_language();
    let Some(snapshot) = &props.snapshot else {
        return if props.unavailable {
            html! { <p class="form-error" role="alert">{ tr(lang, "errWorkerUnavailable", &[]) }</p> }
        } else {
            html! {}
        };
    };
    let state = snapshot.state.as_str();
    // For wss:// the worker tells a certificate error apart only once its
    // probe of the https origin came back; until then the "unreachable" hint
    // covers both. Either way, link to the page where Chrome shows the
    // certificate.
    let certificate_url = match snapshot.state {
        RegState::Unreachable | RegState::TlsError => snapshot
            .server
            .as_deref()
            .and_then(|s| ServerUrl::parse(s).ok())
            .and_then(|s| s.certificate_check_url()),
        _ => None,
    };
    let hint = match (snapshot.state, &certificate_url) {
        (RegState::Unreachable, Some(_)) => Some("hintUnreachableSecure"),
        (state, _) => state.hint_key(),
    };
    if !props.sentence && hint.is_none() {
        return html! {};
    }
    html! {
        <div class="status" data-state={state}>
            if props.sentence {
                <p id="reg-state" data-state={state} role="status" aria-live="polite">{ sentence(lang, snapshot) }</p>
            }
            if let Some(hint) = hint {
                <p class="hint">{ tr(lang, hint, &[]) }</p>
            }
            if let Some(url) = certificate_url {
                <p class="hint"><a href={url.clone()} target="_blank" rel="noopener">{ tr(lang, "linkCheckCertificate", &[&url]) }</a></p>
            }
        </div>
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
struct FormState {
    account: Account,
    touched: Vec<Field>,
    submitted: bool,
    /// The user typed: a late prefill must not overwrite it.
    edited: bool,
}

enum FormAction {
    Edit(Field, String),
    Touch(Field),
    Prefill(Account),
    Submit,
}

impl Reducible for FormState {
    type Action = FormAction;

    fn reduce(self: Rc<Self>, action: FormAction) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            FormAction::Edit(field, value) => {
                let optional = |v: String| if v.is_empty() { None } else { Some(v) };
                match field {
                    Field::Server => next.account.server = value,
                    Field::Username => next.account.username = value,
                    Field::Password => next.account.password = value,
                    Field::AuthId => next.account.auth_id = optional(value),
                    Field::DisplayName => next.account.display_name = optional(value),
                }
                next.edited = true;
                if !next.touched.contains(&field) {
                    next.touched.push(field);
                }
            }
            FormAction::Touch(field) => {
                if !next.touched.contains(&field) {
                    next.touched.push(field);
                }
            }
            FormAction::Prefill(account) => {
                if !next.edited {
                    next.account = account;
                }
            }
            FormAction::Submit => next.submitted = true,
        }
        Rc::new(next)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum SaveStatus {
    Idle,
    Saving,
    Saved,
    Failed(&'static str),
}

fn save_error_key(reply: Result<PopupReply, chrome::WorkerUnavailable>) -> Option<&'static str> {
    match reply {
        Ok(PopupReply::Snapshot { .. }) => None,
        Ok(PopupReply::Error { error }) => Some(match (error.code, error.account) {
            (ErrorCode::InvalidAccount, Some(e)) => e.message_key(),
            (ErrorCode::StorageFailed, _) => "errStorageFailed",
            _ => "errBadRequest",
        }),
        Ok(_) => Some("errBadRequest"),
        Err(chrome::WorkerUnavailable) => Some("errWorkerUnavailable"),
    }
}

struct FieldSpec {
    field: Field,
    id: &'static str,
    label: &'static str,
    kind: &'static str,
    autocomplete: &'static str,
}

const FIELDS: [FieldSpec; 5] = [
    FieldSpec {
        field: Field::Server,
        id: "server",
        label: "labelServer",
        kind: "url",
        autocomplete: "off",
    },
    FieldSpec {
        field: Field::Username,
        id: "username",
        label: "labelUsername",
        kind: "text",
        autocomplete: "username",
    },
    FieldSpec {
        field: Field::Password,
        id: "password",
        label: "labelPassword",
        kind: "password",
        autocomplete: "current-password",
    },
    FieldSpec {
        field: Field::AuthId,
        id: "auth-id",
        label: "labelAuthId",
        kind: "text",
        autocomplete: "off",
    },
    FieldSpec {
        field: Field::DisplayName,
        id: "display-name",
        label: "labelDisplayName",
        kind: "text",
        autocomplete: "name",
    },
];

fn field_value(account: &Account, field: Field) -> String {
    match field {
        Field::Server => account.server.clone(),
        Field::Username => account.username.clone(),
        Field::Password => account.password.clone(),
        Field::AuthId => account.auth_id.clone().unwrap_or_default(),
        Field::DisplayName => account.display_name.clone().unwrap_or_default(),
    }
}

#[derive(Properties, PartialEq)]
pub struct LoginProps {
    /// The worker accepted the account; the app waits for the registration.
    pub on_saved: Callback<()>,
}

/// The login form (ids per CONTRACT section 3) and "remember password".
#[function_component(AccountForm)]
pub fn account_form(props: &LoginProps) -> Html {
    let lang = use_language();
    let remember = use_state(|| true);
    let form = use_reducer(FormState::default);
    let status = use_state(|| SaveStatus::Idle);
    {
        let dispatcher = form.dispatcher();
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                if let Ok(PopupReply::Account {
                    account: Some(account),
                }) = chrome::request(&Request::GetAccount).await
                {
                    dispatcher.dispatch(FormAction::Prefill(account));
                }
            });
        });
    }

    let errors = form.account.errors();
    let visible_error = |field: Field| -> Option<AccountError> {
        if form.submitted || form.touched.contains(&field) {
            errors.iter().find(|e| e.field() == field).cloned()
        } else {
            None
        }
    };

    let onsubmit = {
        let (form, status, remember) = (form.clone(), status.clone(), remember.clone());
        let on_saved = props.on_saved.clone();
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            form.dispatch(FormAction::Submit);
            if !form.account.errors().is_empty() || *status == SaveStatus::Saving {
                return;
            }
            status.set(SaveStatus::Saving);
            let (account, status) = (form.account.clone(), status.clone());
            let remember_password = *remember;
            let on_saved = on_saved.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let reply = chrome::request(&Request::Login {
                    account,
                    remember_password,
                })
                .await;
                status.set(match save_error_key(reply) {
                    None => {
                        on_saved.emit(());
                        SaveStatus::Saved
                    }
                    Some(key) => SaveStatus::Failed(key),
                });
            });
        })
    };

    let fields = FIELDS.iter().map(|spec| {
        let error = visible_error(spec.field);
        let error_id = format!("{}-error", spec.id);
        let field = spec.field;
        let oninput = {
            let (form, status) = (form.dispatcher(), status.clone());
            Callback::from(move |event: InputEvent| {
                let input: HtmlInputElement = event.target_unchecked_into();
                form.dispatch(FormAction::Edit(field, input.value()));
                if *status != SaveStatus::Saving {
                    status.set(SaveStatus::Idle);
                }
            })
        };
        let onblur = {
            let form = form.dispatcher();
            Callback::from(move |_: FocusEvent| form.dispatch(FormAction::Touch(field)))
        };
        let placeholder = if field == Field::Server {
            Some(tr(lang, "placeholderServer", &[]))
        } else {
            None
        };
        html! {
            <div class="field">
                <label for={spec.id}>{ tr(lang, spec.label, &[]) }</label>
                <input
                    id={spec.id}
                    name={spec.id}
                    type={spec.kind}
                    autocomplete={spec.autocomplete}
                    spellcheck="false"
                    placeholder={placeholder}
                    value={field_value(&form.account, field)}
                    aria-invalid={if error.is_some() { "true" } else { "false" }}
                    aria-describedby={error.as_ref().map(|_| error_id.clone())}
                    {oninput}
                    {onblur}
                />
                if let Some(error) = &error {
                    <p id={error_id.clone()} class="error">{ tr(lang, error.message_key(), &[]) }</p>
                }
            </div>
        }
    });

    html! {
        <form novalidate=true {onsubmit} aria-labelledby="account-heading">
            <h2 id="account-heading">{ tr(lang, "accountHeading", &[]) }</h2>
            { for fields }
            <div class="check">
                <input id="remember-password" type="checkbox" checked={*remember} onchange={{
                    let remember = remember.clone();
                    Callback::from(move |e: Event| {
                        let input: HtmlInputElement = e.target_unchecked_into();
                        remember.set(input.checked());
                    })
                }} />
                <label for="remember-password">{ tr(lang, "labelRememberPassword", &[]) }</label>
            </div>
            <button id="save" type="submit" disabled={*status == SaveStatus::Saving}>{ tr(lang, "buttonSave", &[]) }</button>
            {
                match &*status {
                    SaveStatus::Saved => html! { <p class="notice" role="status">{ tr(lang, "savedNotice", &[]) }</p> },
                    SaveStatus::Failed(key) => html! { <p class="form-error" role="alert">{ tr(lang, key, &[]) }</p> },
                    SaveStatus::Idle | SaveStatus::Saving => html! {},
                }
            }
        </form>
    }
}

//! The caller-number rules editor: an ordered list (first match wins) of
//! a number or pattern → hang up, forward, voicemail or accept; add, edit,
//! move up/down, delete. The parent saves every change with the rest of
//! the call-handling configuration and hands back what the worker refused.

use ringside::protocol::presence::{
    CallerRule, FieldError, RuleAction, MAX_NUMBER_CHARS, MAX_RULES,
};
use ringside::settings::Language;
use ringside::ui_call_handling::{error_at, rule_choice, rule_from, rule_key, RULE_CHOICES};
use ringside::ui_edit::{apply_edit, ListEdit};
use web_sys::{HtmlInputElement, HtmlSelectElement, KeyboardEvent};
use yew::prelude::*;

use ringside_ui::focus;
use ringside_ui::i18n::{tr, use_language};

#[derive(Properties, Clone, PartialEq)]
pub struct RulesProps {
    pub rules: Vec<CallerRule>,
    /// The worker's refusals under `rules.N…`.
    pub errors: Vec<FieldError>,
    pub on_change: Callback<Vec<CallerRule>>,
}

/// The rule being added (`index` None) or edited.
#[derive(Clone, PartialEq)]
struct Draft {
    index: Option<usize>,
    pattern: String,
    choice: String,
    number: String,
}

fn action_text(lang: Language, action: &RuleAction) -> String {
    let choice = rule_choice(action);
    match action {
        RuleAction::Forward { number } => tr(lang, "ruleForwardTo", &[number]),
        _ => tr(lang, rule_key(choice), &[]),
    }
}

#[function_component(RulesEditor)]
pub fn rules_editor(props: &RulesProps) -> Html {
    let lang = use_language();
    let draft = use_state(|| None::<Draft>);
    let rules = props.rules.clone();
    let n = rules.len();
    let emit = {
        let (on_change, rules) = (props.on_change.clone(), rules.clone());
        move |edit: ListEdit<CallerRule>, focus_id: String| {
            let (on_change, rules) = (on_change.clone(), rules.clone());
            Callback::from(move |_: MouseEvent| {
                on_change.emit(apply_edit(&rules, edit.clone(), MAX_RULES));
                focus(&focus_id);
            })
        }
    };
    let open = |index: Option<usize>| {
        let (draft, rules) = (draft.clone(), rules.clone());
        Callback::from(move |_: MouseEvent| {
            let rule = index.and_then(|i| rules.get(i));
            draft.set(Some(Draft {
                index,
                pattern: rule.map(|r| r.pattern.clone()).unwrap_or_default(),
                choice: rule
                    .map_or("hang_up", |r| rule_choice(&r.action))
                    .to_owned(),
                number: match rule.map(|r| &r.action) {
                    Some(RuleAction::Forward { number }) => number.clone(),
                    _ => String::new(),
                },
            }));
            focus("rule-pattern");
        })
    };
    let rows = rules.iter().enumerate().map(|(i, rule)| {
        let pattern = rule.pattern.clone();
        let error = error_at(&props.errors, &format!("rules.{i}"));
        let up_focus = if i > 1 { format!("rule-up-{}", i - 1) } else { "rule-down-0".to_owned() };
        let down_focus = if i + 2 < n { format!("rule-down-{}", i + 1) } else { format!("rule-up-{}", i + 1) };
        let delete_focus = if n <= 1 { "rule-add".to_owned() } else { format!("rule-edit-{}", i.min(n - 2)) };
        html! {
            <li class="rule-row" data-pattern={pattern.clone()} data-action={rule_choice(&rule.action)}>
                <span class="rule-text">
                    <span class="rule-pattern">{ pattern.clone() }</span>
                    <span class="muted">{ format!(" → {}", action_text(lang, &rule.action)) }</span>
                    if let Some(key) = error {
                        <span class="error" role="alert">{ tr(lang, key, &[]) }</span>
                    }
                </span>
                <span class="row small">
                    <button type="button" class="secondary" id={format!("rule-edit-{i}")}
                        aria-label={tr(lang, "ruleEditFor", &[&pattern])} onclick={open(Some(i))}>{ tr(lang, "buttonEdit", &[]) }</button>
                    <button type="button" class="secondary" id={format!("rule-up-{i}")} disabled={i == 0}
                        aria-label={tr(lang, "ruleUpFor", &[&pattern])}
                        onclick={emit(ListEdit::MoveUp(i), up_focus)}>{ "↑" }</button>
                    <button type="button" class="secondary" id={format!("rule-down-{i}")} disabled={i + 1 == n}
                        aria-label={tr(lang, "ruleDownFor", &[&pattern])}
                        onclick={emit(ListEdit::MoveDown(i), down_focus)}>{ "↓" }</button>
                    <button type="button" class="secondary danger" id={format!("rule-delete-{i}")}
                        aria-label={tr(lang, "ruleDeleteFor", &[&pattern])}
                        onclick={emit(ListEdit::Delete(i), delete_focus)}>{ tr(lang, "buttonDelete", &[]) }</button>
                </span>
            </li>
        }
    });
    let form = (*draft).clone().map(|d| {
        // Text fields follow `input`: a click on Save must see what was typed.
        let set = |f: fn(&mut Draft, String)| {
            let draft = draft.clone();
            Callback::from(move |e: Event| {
                let value = match e.target_dyn_into::<HtmlSelectElement>() {
                    Some(select) => select.value(),
                    None => e.target_unchecked_into::<HtmlInputElement>().value(),
                };
                if let Some(mut next) = (*draft).clone() {
                    f(&mut next, value);
                    draft.set(Some(next));
                }
            })
        };
        let back = d.index.map_or("rule-add".to_owned(), |i| format!("rule-edit-{i}"));
        let close = {
            let (draft, back) = (draft.clone(), back.clone());
            move || {
                draft.set(None);
                focus(&back);
            }
        };
        let onsubmit = {
            let (rules, on_change, d, close) = (rules.clone(), props.on_change.clone(), d.clone(), close.clone());
            Callback::from(move |e: SubmitEvent| {
                e.prevent_default();
                let rule = CallerRule {
                    pattern: d.pattern.trim().to_owned(),
                    action: rule_from(&d.choice, &d.number),
                };
                let edit = match d.index {
                    Some(i) => ListEdit::Replace(i, rule),
                    None => ListEdit::Add(rule),
                };
                on_change.emit(apply_edit(&rules, edit, MAX_RULES));
                close();
            })
        };
        let onkeydown = {
            let close = close.clone();
            Callback::from(move |e: KeyboardEvent| {
                if e.key() == "Escape" {
                    close();
                }
            })
        };
        let title = if d.index.is_some() {
            tr(lang, "ruleFormEdit", &[])
        } else {
            tr(lang, "ruleFormAdd", &[])
        };
        html! {
            <form id="rule-form" class="key-form" aria-labelledby="rule-form-title" {onsubmit} {onkeydown}>
                <h3 id="rule-form-title" class="subhead">{ title }</h3>
                <div class="field">
                    <label for="rule-pattern">{ tr(lang, "labelRulePattern", &[]) }</label>
                    <input id="rule-pattern" type="text" required=true maxlength={MAX_NUMBER_CHARS.to_string()}
                        aria-describedby="rule-pattern-hint" value={d.pattern.clone()} oninput={set(|d, v| d.pattern = v).reform(Event::from)} />
                    <p id="rule-pattern-hint" class="hint">{ tr(lang, "hintRulePattern", &[]) }</p>
                </div>
                <div class="field">
                    <label for="rule-action">{ tr(lang, "labelRuleAction", &[]) }</label>
                    <select id="rule-action" onchange={set(|d, v| d.choice = v)}>
                        { for RULE_CHOICES.iter().map(|c| html! {
                            <option value={*c} selected={*c == d.choice}>{ tr(lang, rule_key(c), &[]) }</option>
                        }) }
                    </select>
                </div>
                if d.choice == "forward" {
                    <div class="field">
                        <label for="rule-number">{ tr(lang, "labelForwardNumber", &[]) }</label>
                        <input id="rule-number" type="text" inputmode="tel" required=true value={d.number.clone()}
                            oninput={set(|d, v| d.number = v).reform(Event::from)} />
                    </div>
                }
                <div class="row">
                    <button id="rule-save" type="submit">{ tr(lang, "buttonSaveShort", &[]) }</button>
                    <button id="rule-cancel" type="button" class="secondary"
                        onclick={Callback::from(move |_: MouseEvent| close())}>{ tr(lang, "buttonCancel", &[]) }</button>
                </div>
            </form>
        }
    });
    html! {
        <div class="rules">
            <p class="hint">{ tr(lang, "hintRules", &[]) }</p>
            if n == 0 {
                <p id="rules-empty" class="muted">{ tr(lang, "rulesEmpty", &[]) }</p>
            } else {
                <ol id="rules-list" class="key-list" aria-label={tr(lang, "chRules", &[])}>{ for rows }</ol>
            }
            if let Some(form) = form {
                { form }
            } else {
                <button id="rule-add" type="button" class="secondary" disabled={n >= MAX_RULES}
                    onclick={open(None)}>{ tr(lang, "buttonAddRule", &[]) }</button>
            }
        </div>
    }
}

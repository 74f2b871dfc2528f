//! Editing ordered lists on the options page: function keys, caller-number rules,
//! holidays.
//!
//! Plain Rust so the editors' behaviour is tested natively; the Yew screens
//! only wire these to buttons. The lists themselves belong to the worker: an
//! edit produces the new list the page sends back, nothing is kept here.

/// One change to an ordered list; out-of-range positions change nothing
/// (the list may have changed under a stale button).
#[derive(Debug, Clone, PartialEq)]
pub enum ListEdit<T> {
    /// Append, unless the list is at its limit.
    Add(T),
    Replace(usize, T),
    MoveUp(usize),
    MoveDown(usize),
    Delete(usize),
}

/// The list after `edit`, at most `limit` long.
pub fn apply_edit<T: Clone>(list: &[T], edit: ListEdit<T>, limit: usize) -> Vec<T> {
    let mut next = list.to_vec();
    match edit {
        ListEdit::Add(item) => {
            if next.len() < limit {
                next.push(item);
            }
        }
        ListEdit::Replace(index, item) => {
            if let Some(slot) = next.get_mut(index) {
                *slot = item;
            }
        }
        ListEdit::MoveUp(index) => {
            if index > 0 && index < next.len() {
                next.swap(index - 1, index);
            }
        }
        ListEdit::MoveDown(index) => {
            if index < next.len().saturating_sub(1) {
                next.swap(index, index + 1);
            }
        }
        ListEdit::Delete(index) => {
            if index < next.len() {
                next.remove(index);
            }
        }
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq)]
    struct Key {
        label: String,
        value: String,
    }

    fn key(label: &str) -> Key {
        Key {
            label: label.into(),
            value: "1002".into(),
        }
    }

    fn labels(list: &[Key]) -> Vec<&str> {
        list.iter().map(|k| k.label.as_str()).collect()
    }

    #[test]
    fn add_edit_move_delete() {
        let list = vec![key("a"), key("b"), key("c")];
        assert_eq!(
            labels(&apply_edit(&list, ListEdit::Add(key("d")), 4)),
            ["a", "b", "c", "d"]
        );
        assert_eq!(
            labels(&apply_edit(&list, ListEdit::Add(key("d")), 3)),
            ["a", "b", "c"]
        );
        assert_eq!(
            labels(&apply_edit(&list, ListEdit::Replace(1, key("x")), 3)),
            ["a", "x", "c"]
        );
        assert_eq!(
            labels(&apply_edit(&list, ListEdit::MoveUp(2), 3)),
            ["a", "c", "b"]
        );
        assert_eq!(
            labels(&apply_edit(&list, ListEdit::MoveDown(0), 3)),
            ["b", "a", "c"]
        );
        assert_eq!(
            labels(&apply_edit(&list, ListEdit::Delete(1), 3)),
            ["a", "c"]
        );
    }

    #[test]
    fn edits_out_of_range_change_nothing() {
        let list = vec![key("a"), key("b")];
        for edit in [
            ListEdit::MoveUp(0),
            ListEdit::MoveDown(1),
            ListEdit::MoveUp(7),
            ListEdit::MoveDown(usize::MAX),
            ListEdit::Delete(2),
            ListEdit::Replace(5, key("x")),
        ] {
            assert_eq!(apply_edit(&list, edit.clone(), 10), list, "{edit:?}");
        }
    }
}

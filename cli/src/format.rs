//! `--format` values the commands take: their named formats, or a Go template of buildx's fields
//! ([`Template`]).

use buildlane_core::error_code::{Coded, ErrorCode};

#[derive(Debug, thiserror::Error)]
#[error("invalid --format \"{given}\": expected {named} or a template")]
pub struct FormatError {
    given: String,
    /// The command's named formats, as the message lists them (`text, json`).
    named: String,
}

impl Coded for FormatError {
    fn code(&self) -> ErrorCode {
        ErrorCode::InvalidInput
    }
}

/// `given` when it is one of `named` or a template (it has an action).
pub fn checked<'a>(given: &'a str, named: &[&str]) -> Result<&'a str, FormatError> {
    if named.contains(&given) || given.contains("{{") {
        return Ok(given);
    }
    Err(FormatError { given: given.to_owned(), named: named.join(", ") })
}

/// A `--format` template of a command's fields, as the docker CLI's formatter reads one: `table`
/// first asks for a header row and aligned columns, `\t` is a tab, each `{{.Field}}` a field's value.
pub struct Template<'a> {
    pub table: bool,
    columns: String,
    /// Each field the command has, and its header in a table.
    fields: &'a [(&'a str, &'a str)],
}

impl<'a> Template<'a> {
    pub fn new(format: &str, fields: &'a [(&'a str, &'a str)]) -> Self {
        let (table, columns) = match format.strip_prefix("table") {
            Some(rest) => (true, rest.trim_start()),
            None => (false, format),
        };
        Template { table, columns: columns.replace("\\t", "\t"), fields }
    }

    /// The line `value` gives each field of.
    pub fn line(&self, value: &dyn Fn(&str) -> String) -> String {
        self.fields
            .iter()
            .fold(self.columns.clone(), |line, (key, _)| line.replace(&format!("{{{{.{key}}}}}"), &value(key)))
    }

    /// The table's header row: each field's header.
    pub fn header(&self) -> String {
        self.line(&|key| self.fields.iter().find(|(k, _)| *k == key).map(|(_, h)| h.to_string()).unwrap_or_default())
    }
}

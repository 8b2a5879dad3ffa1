//! Where a build record the window shows lives: a builder's BuildKit (its history and content
//! store) or a `.dockerbuild` file opened read-only. Replaying, timing and reading a record's
//! attachments take one, so a record reads the same wherever it came from.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", rename_all_fields = "camelCase", tag = "kind")]
#[ts(export)]
pub enum RecordSource {
    /// A builder of the selected docker context ('' = the current one); with `node`, that node's
    /// record of a ref (buildx gives every node of one build the same ref), else the newest one.
    Builder {
        builder: String,
        #[serde(default)]
        #[ts(optional)]
        node: Option<String>,
    },
    /// A `.dockerbuild` file, by its full path.
    Bundle { path: String },
}

//! Go's `text/tabwriter`, set up as a Go program sets it up (`tabwriter.NewWriter(out, minwidth,
//! tabwidth, padding, padchar, 0)`): cells end at tabs, the text after a line's last tab is not
//! aligned, and a column block is a run of consecutive lines that all have a cell in that column;
//! a column is as wide as its widest cell plus the padding, and at least the minimum width.
//!
//! Padding with spaces is the `tabwriter` crate's (a port of Go's). The crate cannot pad with
//! tabs, which buildx's `du`, `prune` and `history inspect` writers do, so that is done here: each
//! column's width rounded up to a multiple of the tab width, each cell followed by as many tabs as
//! it takes to reach it. (Go measures a cell in runes and the crate in display columns; the two
//! differ only for wide and zero-width characters.)

use std::io::Write as _;

/// How the writer pads a cell to its column's width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pad {
    Spaces,
    /// `padchar '\t'` with this tab width.
    Tabs(usize),
}

/// A Go tabwriter's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TabWriter {
    pub minwidth: usize,
    pub padding: usize,
    pub pad: Pad,
}

impl TabWriter {
    /// `NewWriter(out, 1, 8, 1, '\t', 0)`: buildx's `du`, `prune` and `history inspect`.
    pub const BUILDX_TABS: TabWriter = TabWriter { minwidth: 1, padding: 1, pad: Pad::Tabs(8) };
    /// `NewWriter(out, 0, 0, 1, ' ', 0)`: buildx's `inspect` and `imagetools inspect`.
    pub const BUILDX_SPACES: TabWriter = TabWriter { minwidth: 0, padding: 1, pad: Pad::Spaces };
    /// `NewWriter(out, 10, 1, 3, ' ', 0)`: the docker CLI's tables (its `formatter` package), which
    /// `buildx history ls` prints.
    pub const DOCKER_TABLE: TabWriter = TabWriter { minwidth: 10, padding: 3, pad: Pad::Spaces };

    /// `text` as the Go writer prints it once flushed.
    pub fn align(&self, text: &str) -> String {
        match self.pad {
            Pad::Spaces => self.align_with_spaces(text),
            Pad::Tabs(tab_width) => self.align_with_tabs(text, tab_width),
        }
    }

    fn align_with_spaces(&self, text: &str) -> String {
        // Go makes a column max(minwidth, widest cell + padding) wide, the crate max(minwidth,
        // widest cell) + padding: the same once the crate's minimum leaves the padding out.
        let mut writer = tabwriter::TabWriter::new(Vec::with_capacity(text.len() * 2))
            .minwidth(self.minwidth.saturating_sub(self.padding))
            .padding(self.padding);
        // Writing into memory cannot fail, and valid UTF-8 in is valid UTF-8 out.
        let _ = writer.write_all(text.as_bytes());
        let _ = writer.flush();
        String::from_utf8_lossy(&writer.into_inner().unwrap_or_default()).into_owned()
    }

    fn align_with_tabs(&self, text: &str, tab_width: usize) -> String {
        // The text after the last newline is a line too, aligned with the others and written
        // without a newline (Go formats what it holds when flushed).
        let lines: Vec<Vec<&str>> = text.split('\n').map(|l| l.split('\t').collect()).collect();
        let mut out = String::with_capacity(text.len() + text.len() / 4);
        let mut block = Block { lines: &lines, widths: Vec::new(), out: &mut out, writer: self, tab_width };
        block.format(0, lines.len());
        out
    }
}

/// Go's `format`: the lines of one column block, the widths of the columns it sits in.
struct Block<'a> {
    lines: &'a [Vec<&'a str>],
    widths: Vec<usize>,
    out: &'a mut String,
    writer: &'a TabWriter,
    tab_width: usize,
}

impl Block<'_> {
    fn format(&mut self, mut line0: usize, line1: usize) {
        let (lines, column) = (self.lines, self.widths.len());
        let mut this = line0;
        while this < line1 {
            if column + 1 >= lines[this].len() {
                this += 1;
                continue;
            }
            // A cell in this column starts a block: the lines above it are done.
            self.write_lines(line0, this);
            line0 = this;
            let mut width = self.writer.minwidth;
            while this < line1 && column + 1 < lines[this].len() {
                width = width.max(runes(lines[this][column]) + self.writer.padding);
                this += 1;
            }
            self.widths.push(width);
            self.format(line0, this);
            self.widths.pop();
            line0 = this;
        }
        self.write_lines(line0, line1);
    }

    fn write_lines(&mut self, from: usize, to: usize) {
        let (lines, tab) = (self.lines, self.tab_width);
        for (i, line) in lines[from..to].iter().enumerate() {
            for (j, cell) in line.iter().enumerate() {
                self.out.push_str(cell);
                if j + 1 < line.len() && j < self.widths.len() && tab > 0 {
                    let cell_width = self.widths[j].div_ceil(tab) * tab;
                    let tabs = (cell_width - runes(cell)).div_ceil(tab);
                    self.out.extend(std::iter::repeat_n('\t', tabs));
                }
            }
            if from + i + 1 < lines.len() {
                self.out.push('\n');
            }
        }
    }
}

fn runes(cell: &str) -> usize {
    cell.chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tabs_pad_each_column_to_a_multiple_of_the_tab_width() {
        // Seen from `docker buildx du` 0.13.1 on this project's engine.
        let text = "ID\tRECLAIMABLE\tSIZE\tLAST ACCESSED\nktn3kjok0344a56u27ajeifg3*              \ttrue \t268.4MB*  \t10 minutes ago\n";
        assert_eq!(
            TabWriter::BUILDX_TABS.align(text),
            "ID\t\t\t\t\t\tRECLAIMABLE\tSIZE\t\tLAST ACCESSED\n\
             ktn3kjok0344a56u27ajeifg3*              \ttrue \t\t268.4MB*  \t10 minutes ago\n"
        );
        assert_eq!(
            TabWriter::BUILDX_TABS.align("Shared:\t1MB\nReclaimable:\t1MB\nTotal:\t2MB\n"),
            "Shared:\t\t1MB\nReclaimable:\t1MB\nTotal:\t\t2MB\n"
        );
    }

    #[test]
    fn a_line_without_a_cell_in_a_column_ends_that_columns_block() {
        let text = "ID:\tabc\nCreated at:\tnow\n\nID:\tdef\nType:\tregular\n";
        assert_eq!(TabWriter::BUILDX_TABS.align(text), "ID:\t\tabc\nCreated at:\tnow\n\nID:\tdef\nType:\tregular\n");
        // Nested columns: the second column's block is the lines that have a third cell.
        let nested = "a\tb\tc\naaaaaaaaaa\tb\tc\nx\ty\n";
        assert_eq!(TabWriter::BUILDX_TABS.align(nested), "a\t\tb\tc\naaaaaaaaaa\tb\tc\nx\t\ty\n");
    }

    #[test]
    fn text_after_the_last_newline_is_aligned_and_written_without_one() {
        assert_eq!(TabWriter::BUILDX_TABS.align("a\tb\nlonger name\tcell"), "a\t\tb\nlonger name\tcell");
        assert_eq!(TabWriter::BUILDX_TABS.align(""), "");
    }

    #[test]
    fn spaces_follow_gos_minimum_width_and_padding() {
        // The docker CLI's tables: at least 10 wide, 3 spaces after the widest cell.
        assert_eq!(
            TabWriter::DOCKER_TABLE.align("BUILD ID\tNAME\t\nabc\ta-long-project-name\t\n"),
            "BUILD ID   NAME                  \nabc        a-long-project-name   \n"
        );
        assert_eq!(TabWriter::DOCKER_TABLE.align("ID\tX\n"), "ID        X\n");
        assert_eq!(
            TabWriter::BUILDX_SPACES.align("Name:\tdefault\nDriver:\tdocker\n"),
            "Name:   default\nDriver: docker\n"
        );
    }
}

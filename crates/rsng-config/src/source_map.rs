//! Where every byte of the expanded configuration came from.
//!
//! The preprocessor turns a tree of files (`@include`), backtick substitutions and `block`
//! expansions into one flat text for the grammar. Each run of that text is recorded as a
//! [`Segment`]; a span of the flat text maps back to a file position plus the chain of
//! include and block sites that led there, so a diagnostic can name the line the user wrote.

use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

/// Index of a file in [`SourceMap::files`].
pub type FileId = u32;
/// Index of an include or block expansion in [`SourceMap::expansions`].
pub type ExpansionId = u32;

/// One configuration file (or in-memory text such as a block body or generator output).
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as the user or the include statement named it, for messages.
    pub name: String,
    /// The resolved path on disk, if the text came from a file.
    pub path: Option<PathBuf>,
    pub text: Arc<str>,
}

/// A byte range inside one [`SourceFile`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileSpan {
    pub file: FileId,
    pub start: usize,
    pub end: usize,
}

/// Why a piece of text was pulled in from elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpansionKind {
    Include,
    Block { context: String, name: String },
    Generator { context: String, name: String },
}

#[derive(Debug, Clone)]
pub struct Expansion {
    pub kind: ExpansionKind,
    /// Where the `@include` or the block reference stands.
    pub site: FileSpan,
    pub parent: Option<ExpansionId>,
}

/// A run of the flat text. Verbatim runs map byte for byte; substituted runs (backtick values,
/// block arguments) map every byte to the whole token they replaced.
#[derive(Debug, Clone, Copy)]
struct Segment {
    out_start: usize,
    file: FileId,
    src_start: usize,
    src_end: usize,
    verbatim: bool,
    expansion: Option<ExpansionId>,
}

/// A span of the flat text resolved to the file the user wrote.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub span: FileSpan,
    /// Innermost first: the include or block sites that led to `span`.
    pub chain: Vec<(ExpansionKind, FileSpan)>,
}

#[derive(Debug, Default, Clone)]
pub struct SourceMap {
    pub files: Vec<SourceFile>,
    pub expansions: Vec<Expansion>,
    segments: Vec<Segment>,
}

impl SourceMap {
    pub fn add_file(&mut self, name: String, path: Option<PathBuf>, text: Arc<str>) -> FileId {
        self.files.push(SourceFile { name, path, text });
        (self.files.len() - 1) as FileId
    }

    pub fn add_expansion(&mut self, expansion: Expansion) -> ExpansionId {
        self.expansions.push(expansion);
        (self.expansions.len() - 1) as ExpansionId
    }

    pub fn file(&self, id: FileId) -> &SourceFile {
        &self.files[id as usize]
    }

    /// Records that flat text starting at `out_start` copies `src` byte for byte.
    pub fn push_verbatim(&mut self, out_start: usize, src: FileSpan, expansion: Option<ExpansionId>) {
        if let Some(last) = self.segments.last_mut() {
            // Merge adjacent runs so the table stays small on large files.
            if last.verbatim
                && src.file == last.file
                && last.expansion == expansion
                && last.src_end == src.start
                && last.out_start + (last.src_end - last.src_start) == out_start
            {
                last.src_end = src.end;
                return;
            }
        }
        self.segments.push(Segment {
            out_start,
            file: src.file,
            src_start: src.start,
            src_end: src.end,
            verbatim: true,
            expansion,
        });
    }

    /// Records that flat text starting at `out_start` was produced from the token at `site`.
    pub fn push_substituted(&mut self, out_start: usize, site: FileSpan, expansion: Option<ExpansionId>) {
        self.segments.push(Segment {
            out_start,
            file: site.file,
            src_start: site.start,
            src_end: site.end,
            verbatim: false,
            expansion,
        });
    }

    fn segment_at(&self, out: usize) -> Option<&Segment> {
        let idx = self.segments.partition_point(|s| s.out_start <= out);
        idx.checked_sub(1).map(|i| &self.segments[i])
    }

    fn point(&self, out: usize) -> Option<(FileSpan, Option<ExpansionId>)> {
        let seg = self.segment_at(out)?;
        if seg.verbatim {
            let off = (seg.src_start + (out - seg.out_start)).min(seg.src_end.max(seg.src_start));
            let len = self.file(seg.file).text.len();
            let off = off.min(len);
            Some((FileSpan { file: seg.file, start: off, end: off }, seg.expansion))
        } else {
            Some((FileSpan { file: seg.file, start: seg.src_start, end: seg.src_end }, seg.expansion))
        }
    }

    /// Maps a span of the flat text back to a file. A span that crosses into another file is cut
    /// at its start's file.
    pub fn resolve(&self, out: Range<usize>) -> Option<Resolved> {
        let (start, expansion) = self.point(out.start)?;
        let mut span = start;
        if out.end > out.start {
            if let Some((end, _)) = self.point(out.end - 1) {
                if end.file == start.file && end.end >= span.start {
                    span.end = if end.start == end.end { end.end + 1 } else { end.end };
                }
            }
        }
        let len = self.file(span.file).text.len();
        span.end = span.end.min(len).max(span.start);
        let mut chain = Vec::new();
        let mut next = expansion;
        while let Some(id) = next {
            let exp = &self.expansions[id as usize];
            chain.push((exp.kind.clone(), exp.site));
            next = exp.parent;
        }
        Some(Resolved { span, chain })
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, file: FileId, offset: usize) -> (usize, usize) {
        line_col(&self.file(file).text, offset)
    }
}

/// 1-based line and column (in characters) of `offset` in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    let col = String::from_utf8_lossy(&before[line_start..]).chars().count() + 1;
    (line, col)
}

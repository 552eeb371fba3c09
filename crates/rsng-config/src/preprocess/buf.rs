//! Text with provenance: a string plus, for each run of it, the file bytes it came from.

use crate::source_map::FileSpan;

/// A run of a [`Buf`]: `start..end` of the buffer came from `src`, byte for byte when
/// `verbatim`, or as a whole (a substituted backtick value) otherwise.
#[derive(Debug, Clone, Copy)]
pub struct Piece {
    pub start: usize,
    pub end: usize,
    pub src: FileSpan,
    pub verbatim: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Buf {
    pub text: String,
    pub pieces: Vec<Piece>,
}

impl Buf {
    /// Appends `text`, taken byte for byte from `src` (which must be as long as `text`).
    pub fn push_verbatim(&mut self, text: &str, src: FileSpan) {
        if text.is_empty() {
            return;
        }
        let start = self.text.len();
        self.text.push_str(text);
        if let Some(last) = self.pieces.last_mut() {
            if last.verbatim && last.end == start && last.src.file == src.file && last.src.end == src.start {
                last.end = self.text.len();
                last.src.end = src.end;
                return;
            }
        }
        self.pieces.push(Piece { start, end: self.text.len(), src, verbatim: true });
    }

    /// Appends `text` that replaced the token at `site`.
    pub fn push_substituted(&mut self, text: &str, site: FileSpan) {
        if text.is_empty() {
            return;
        }
        let start = self.text.len();
        self.text.push_str(text);
        self.pieces.push(Piece { start, end: self.text.len(), src: site, verbatim: false });
    }

    /// Appends `self'[range]` of another buffer, keeping its provenance.
    pub fn push_slice(&mut self, other: &Buf, start: usize, end: usize) {
        if start >= end {
            return;
        }
        for p in &other.pieces {
            let s = p.start.max(start);
            let e = p.end.min(end);
            if s >= e {
                continue;
            }
            let text = &other.text[s..e];
            if p.verbatim {
                let off = s - p.start;
                let src = FileSpan { file: p.src.file, start: p.src.start + off, end: p.src.start + off + (e - s) };
                self.push_verbatim(text, src);
            } else {
                self.push_substituted(text, p.src);
            }
        }
    }

    /// The file position of byte `at` of this buffer.
    pub fn origin(&self, at: usize) -> Option<FileSpan> {
        let idx = self.pieces.partition_point(|p| p.start <= at);
        let p = if idx == 0 { self.pieces.first()? } else { &self.pieces[idx - 1] };
        if p.verbatim {
            let off = at.saturating_sub(p.start).min(p.end - p.start);
            Some(FileSpan { file: p.src.file, start: p.src.start + off, end: p.src.start + off })
        } else {
            Some(p.src)
        }
    }

    /// The file span covering `start..end` of this buffer (cut to the file of `start`).
    pub fn span(&self, start: usize, end: usize) -> Option<FileSpan> {
        let mut s = self.origin(start)?;
        if end > start {
            if let Some(e) = self.origin(end - 1) {
                if e.file == s.file && e.end >= s.start {
                    s.end = if e.start == e.end { e.end + 1 } else { e.end };
                }
            }
        }
        Some(s)
    }
}

//! The syntax tree: what the user wrote, with spans into the preprocessed text.

use std::ops::Range;

pub type Span = Range<usize>;

/// A piece of text with its span: a name, a word, or a decoded string.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

/// A word or a quoted string, decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct Text {
    pub value: String,
    pub quoted: bool,
    pub span: Span,
}

#[derive(Debug, Default)]
pub struct Config {
    pub statements: Vec<Statement>,
}

#[derive(Debug)]
pub enum Statement {
    Object(ObjectDef),
    Filter(FilterDef),
    Log(LogPath),
    Options(Vec<Call>, Span),
    Template(TemplateDef),
    TemplateFunction { name: Text, body: Text, span: Span },
    Application { name: Text, topic: Text, items: Vec<InlineObject>, span: Span },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    Source,
    Destination,
    Parser,
    Rewrite,
    Filter,
}

impl ObjectKind {
    pub fn name(self) -> &'static str {
        match self {
            ObjectKind::Source => "source",
            ObjectKind::Destination => "destination",
            ObjectKind::Parser => "parser",
            ObjectKind::Rewrite => "rewrite",
            ObjectKind::Filter => "filter",
        }
    }
}

/// `source|destination|parser|rewrite NAME { items };`
#[derive(Debug)]
pub struct ObjectDef {
    pub kind: ObjectKind,
    pub name: Text,
    pub items: Vec<ObjectItem>,
    pub span: Span,
}

#[derive(Debug)]
pub enum ObjectItem {
    Driver(Call),
    /// An embedded `log {}` or `channel {}` fork.
    Path(LogPath),
}

/// `filter NAME { expr };`
#[derive(Debug)]
pub struct FilterDef {
    pub name: Text,
    pub expr: FilterExpr,
    pub span: Span,
}

/// `name(args ...)`.
#[derive(Debug, Clone)]
pub struct Call {
    pub name: Spanned<String>,
    pub args: Vec<Arg>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum Arg {
    Call(Call),
    Text(Text),
    /// A parenthesised group of values.
    Group(Vec<Arg>, Span),
    DotDot(Span),
    DotDotDot(Span),
    Arrow(Span),
    Condition(Box<FilterExpr>, Span),
}

impl Arg {
    pub fn span(&self) -> Span {
        match self {
            Arg::Call(c) => c.span.clone(),
            Arg::Text(t) => t.span.clone(),
            Arg::Group(_, s) | Arg::DotDot(s) | Arg::DotDotDot(s) | Arg::Arrow(s) | Arg::Condition(_, s) => s.clone(),
        }
    }
}

/// `log { ... };`, a `channel { ... }`, or an embedded fork.
#[derive(Debug)]
pub struct LogPath {
    pub items: Vec<LogItem>,
    pub flags: Vec<Text>,
    pub flags_span: Option<Span>,
    pub span: Span,
}

#[derive(Debug)]
pub enum LogItem {
    Reference { kind: ObjectKind, name: Text, span: Span },
    Inline(InlineObject),
    Conditional(Conditional),
    Junction(Vec<LogPath>, Span),
    Fork(LogPath),
}

/// An anonymous object defined in place.
#[derive(Debug)]
pub enum InlineObject {
    Filter(FilterExpr, Span),
    Object { kind: ObjectKind, items: Vec<ObjectItem>, span: Span },
}

/// `if (expr) {...} elif (expr) {...} else {...}`; a missing condition is the block form.
#[derive(Debug)]
pub struct Conditional {
    pub branches: Vec<(Option<FilterExpr>, LogPath)>,
    pub otherwise: Option<LogPath>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum FilterExpr {
    And(Vec<FilterExpr>),
    Or(Vec<FilterExpr>),
    Not(Box<FilterExpr>),
    Call(Call),
    Compare { lhs: Operand, op: Spanned<String>, rhs: Operand },
}

#[derive(Debug, Clone)]
pub struct Operand {
    /// A type hint such as `int("$PID")`.
    pub type_hint: Option<Spanned<String>>,
    pub text: Text,
}

/// `template NAME { template("..."); };` or `template NAME "...";`
#[derive(Debug)]
pub struct TemplateDef {
    pub name: Text,
    pub body: TemplateBody,
    pub span: Span,
}

#[derive(Debug)]
pub enum TemplateBody {
    Block(Vec<Call>),
    Simple(Arg),
}

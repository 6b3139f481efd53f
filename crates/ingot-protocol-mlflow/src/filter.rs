//! MLflow's search grammar: `filter` strings (`metrics.acc > 0.9 AND params.lr = '0.1' AND
//! tags."my tag" LIKE 'x%' AND attributes.status IN ('FINISHED', 'FAILED')`) and `order_by`
//! entries (`metrics.acc DESC`), parsed into [`Search`].
//!
//! Keys may be bare words, `"double quoted"` or `` `backticked` ``; values are `'single'` or
//! `"double"` quoted strings, numbers, or parenthesized string lists for `IN`. Only `AND`
//! joins clauses, as in MLflow. The parser never builds SQL: it only produces data, which the
//! store compiles with bound parameters.

use ingot_core::search::{Clause, Entity, Op, OrderKey, Search, Value};

use crate::Error;

/// Which record type a search targets; decides the attribute aliases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    Runs,
    Experiments,
    RegisteredModels,
    ModelVersions,
    LoggedModels,
}

/// Maps an attribute name as users write it to the canonical key the store knows.
fn canonical_attribute(context: Context, key: &str) -> String {
    let key = key.trim();
    let mapped = match (context, key) {
        (Context::Runs, "created" | "Created") => "start_time",
        (Context::Runs, "run name" | "Run name" | "Run Name") => "run_name",
        (Context::Runs, "run_uuid") => "run_id",
        (Context::ModelVersions, "version") => "version_number",
        (
            Context::RegisteredModels | Context::ModelVersions | Context::LoggedModels,
            "timestamp" | "last_updated",
        ) => "last_updated_timestamp",
        (Context::LoggedModels, "creation_time") => "creation_timestamp",
        (Context::Experiments, "last_updated") => "last_update_time",
        _ => key,
    };
    mapped.to_string()
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    /// A bare word (identifier, keyword or number), with its start offset.
    Word(String),
    /// A `"..."` or `` `...` `` quoted identifier or a `"..."` string.
    DoubleQuoted(String),
    Backticked(String),
    SingleQuoted(String),
    Op(&'static str),
    LParen,
    RParen,
    Comma,
}

fn tokenize(text: &str) -> Result<Vec<(usize, Token)>, (usize, String)> {
    let mut tokens = Vec::new();
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                tokens.push((at, Token::LParen));
                i += 1;
            }
            ')' => {
                tokens.push((at, Token::RParen));
                i += 1;
            }
            ',' => {
                tokens.push((at, Token::Comma));
                i += 1;
            }
            '\'' | '"' | '`' => {
                let mut value = String::new();
                let mut j = i + 1;
                let mut closed = false;
                while j < chars.len() {
                    let ch = chars[j].1;
                    if ch == c {
                        // A doubled quote inside a string stands for one quote character.
                        if j + 1 < chars.len() && chars[j + 1].1 == c {
                            value.push(c);
                            j += 2;
                            continue;
                        }
                        closed = true;
                        break;
                    }
                    value.push(ch);
                    j += 1;
                }
                if !closed {
                    return Err((at, format!("unterminated {c} quote")));
                }
                tokens.push((
                    at,
                    match c {
                        '\'' => Token::SingleQuoted(value),
                        '"' => Token::DoubleQuoted(value),
                        _ => Token::Backticked(value),
                    },
                ));
                i = j + 1;
            }
            '=' => {
                tokens.push((at, Token::Op("=")));
                i += 1;
            }
            '!' | '<' | '>' => {
                let next = chars.get(i + 1).map(|p| p.1);
                let (op, width) = match (c, next) {
                    ('!', Some('=')) => ("!=", 2),
                    ('<', Some('=')) => ("<=", 2),
                    ('>', Some('=')) => (">=", 2),
                    ('<', Some('>')) => ("!=", 2),
                    ('<', _) => ("<", 1),
                    ('>', _) => (">", 1),
                    _ => return Err((at, "expected '!='".to_string())),
                };
                tokens.push((at, Token::Op(op)));
                i += width;
            }
            _ => {
                let mut word = String::new();
                let mut j = i;
                while j < chars.len() {
                    let ch = chars[j].1;
                    if ch.is_whitespace() || "()',=!<>\"`".contains(ch) {
                        break;
                    }
                    word.push(ch);
                    j += 1;
                }
                if word.is_empty() {
                    return Err((at, format!("unexpected character {c:?}")));
                }
                tokens.push((at, Token::Word(word)));
                i = j;
            }
        }
    }
    Ok(tokens)
}

struct Parser<'a> {
    text: &'a str,
    tokens: Vec<(usize, Token)>,
    pos: usize,
    context: Context,
}

impl Parser<'_> {
    fn fail<T>(&self, reason: impl Into<String>) -> Result<T, Error> {
        let position = self
            .tokens
            .get(self.pos)
            .map_or(self.text.len(), |(at, _)| *at);
        Err(Error::Filter {
            filter: self.text.to_string(),
            position,
            reason: reason.into(),
        })
    }

    /// MLflow compares lists (`IN`, `NOT IN`) only with datasets, registry names, logged-model
    /// fields and, among run attributes, `run_id`; anything else is refused with MLflow's own message, which
    /// quotes the list as written (`start` is the index of its opening parenthesis).
    fn check_list_allowed(&self, entity: Entity, key: &str, start: usize) -> Result<(), Error> {
        let from = self.tokens.get(start).map_or(0, |(at, _)| *at);
        let to = self
            .tokens
            .get(self.pos)
            .map_or(self.text.len(), |(at, _)| *at);
        let written = self.text[from..to].trim_end();
        let message = match (entity, self.context) {
            // Logged-model searches take lists anywhere.
            (_, Context::LoggedModels) => return Ok(()),
            (Entity::Param, _) => format!(
                "Expected a quoted string value for parameter (e.g. 'my-value'). \
                 Got value {written}"
            ),
            (Entity::Tag, _) => format!(
                "Expected a quoted string value for tag (e.g. 'my-value'). Got value {written}"
            ),
            (Entity::Metric, _) => {
                format!("Expected numeric value type for metric. Found {written}")
            }
            (Entity::Attribute, Context::Runs) if key != "run_id" => {
                "Only ['run_id'] attributes support comparison with a list of quoted string \
                 values."
                    .to_string()
            }
            _ => return Ok(()),
        };
        Err(Error::Unsupported(message))
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos).map(|(_, t)| t)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.pos).map(|(_, t)| t.clone());
        self.pos += 1;
        token
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    /// `[entity.]key` where the key may be quoted.
    fn identifier(&mut self) -> Result<(Entity, String), Error> {
        let token = match self.next() {
            Some(t) => t,
            None => return self.fail("expected an identifier"),
        };
        let (entity, key) = match token {
            Token::Word(word) => match word.split_once('.') {
                Some((prefix, rest)) => match entity_of(prefix) {
                    Some(entity) if rest.is_empty() => (entity, self.quoted_key()?),
                    Some(entity) => (entity, rest.to_string()),
                    None => (Entity::Attribute, word.clone()),
                },
                None => (Entity::Attribute, word),
            },
            Token::DoubleQuoted(key) | Token::Backticked(key) => (Entity::Attribute, key),
            _ => {
                self.pos -= 1;
                return self.fail("expected an identifier");
            }
        };
        if key.is_empty() {
            return self.fail("empty key");
        }
        let key = if entity == Entity::Attribute {
            canonical_attribute(self.context, &key)
        } else {
            key
        };
        Ok((entity, key))
    }

    /// The quoted key after `metrics.` and friends.
    fn quoted_key(&mut self) -> Result<String, Error> {
        match self.next() {
            Some(Token::DoubleQuoted(k) | Token::Backticked(k)) => Ok(k),
            _ => {
                self.pos -= 1;
                self.fail("expected a quoted key after the entity prefix")
            }
        }
    }

    fn operator(&mut self) -> Result<Op, Error> {
        let op = match self.next() {
            Some(Token::Op("=")) => Op::Eq,
            Some(Token::Op("!=")) => Op::Ne,
            Some(Token::Op("<")) => Op::Lt,
            Some(Token::Op("<=")) => Op::Le,
            Some(Token::Op(">")) => Op::Gt,
            Some(Token::Op(">=")) => Op::Ge,
            Some(Token::Word(w)) => match w.to_ascii_uppercase().as_str() {
                "LIKE" => Op::Like,
                "ILIKE" => Op::ILike,
                "IN" => Op::In,
                "NOT" if self.keyword("IN") => {
                    self.pos += 1;
                    Op::NotIn
                }
                "IS" if self.keyword("NULL") => {
                    self.pos += 1;
                    Op::IsNull
                }
                "IS" if self.keyword("NOT") => {
                    self.pos += 1;
                    if !self.keyword("NULL") {
                        return self.fail("expected NULL after IS NOT");
                    }
                    self.pos += 1;
                    Op::IsNotNull
                }
                _ => {
                    self.pos -= 1;
                    return self.fail(format!("unknown operator {w:?}"));
                }
            },
            _ => {
                self.pos -= 1;
                return self.fail("expected a comparison operator");
            }
        };
        Ok(op)
    }

    fn value(&mut self, op: Op) -> Result<Value, Error> {
        if matches!(op, Op::IsNull | Op::IsNotNull) {
            return Ok(Value::None);
        }
        if matches!(op, Op::In | Op::NotIn) {
            if self.next() != Some(Token::LParen) {
                self.pos -= 1;
                return self.fail("IN needs a parenthesized list of strings");
            }
            let mut items = Vec::new();
            loop {
                match self.next() {
                    Some(Token::SingleQuoted(s) | Token::DoubleQuoted(s)) => items.push(s),
                    Some(Token::Word(w)) if w.parse::<f64>().is_ok() => items.push(w),
                    _ => {
                        self.pos -= 1;
                        return self.fail("IN lists hold quoted strings");
                    }
                }
                match self.next() {
                    Some(Token::Comma) => continue,
                    Some(Token::RParen) => break,
                    _ => {
                        self.pos -= 1;
                        return self.fail("expected ',' or ')' in the IN list");
                    }
                }
            }
            return Ok(Value::List(items));
        }
        match self.next() {
            Some(Token::SingleQuoted(s) | Token::DoubleQuoted(s)) => Ok(Value::Str(s)),
            Some(Token::Word(w)) => match w.parse::<f64>() {
                Ok(n) if n.is_finite() => Ok(Value::Num(n)),
                _ => {
                    self.pos -= 1;
                    self.fail(format!("expected a quoted string or a number, got {w:?}"))
                }
            },
            _ => {
                self.pos -= 1;
                self.fail("expected a value")
            }
        }
    }
}

fn entity_of(prefix: &str) -> Option<Entity> {
    Some(match prefix.to_ascii_lowercase().as_str() {
        "metric" | "metrics" => Entity::Metric,
        "param" | "params" | "parameter" | "parameters" => Entity::Param,
        "tag" | "tags" => Entity::Tag,
        "attribute" | "attributes" | "attr" | "run" => Entity::Attribute,
        "dataset" | "datasets" => Entity::Dataset,
        _ => return None,
    })
}

/// Parses a filter string (empty or blank means no clause).
pub fn parse_filter(context: Context, text: &str) -> Result<Vec<Clause>, Error> {
    let tokens = tokenize(text).map_err(|(position, reason)| Error::Filter {
        filter: text.to_string(),
        position,
        reason,
    })?;
    let mut parser = Parser {
        text,
        tokens,
        pos: 0,
        context,
    };
    let mut clauses = Vec::new();
    while parser.peek().is_some() {
        if !clauses.is_empty() {
            if parser.keyword("OR") {
                return parser.fail("OR is not supported; join clauses with AND");
            }
            if !parser.keyword("AND") {
                return parser.fail("expected AND between clauses");
            }
            parser.pos += 1;
        }
        let (entity, key) = parser.identifier()?;
        let op = parser.operator()?;
        let value_start = parser.pos;
        let value = parser.value(op)?;
        if matches!(value, Value::List(_)) {
            parser.check_list_allowed(entity, &key, value_start)?;
        }
        if entity == Entity::Metric && !matches!(value, Value::Num(_)) {
            return parser.fail(format!("metric {key:?} must be compared with a number"));
        }
        clauses.push(Clause {
            entity,
            key,
            op,
            value,
        });
    }
    Ok(clauses)
}

/// Parses one `order_by` entry: `key [ASC|DESC]`.
pub fn parse_order_by(context: Context, text: &str) -> Result<OrderKey, Error> {
    let fail = |reason: &str| Error::OrderBy {
        clause: text.to_string(),
        reason: reason.to_string(),
    };
    let tokens = tokenize(text).map_err(|(_, reason)| fail(&reason))?;
    let mut parser = Parser {
        text,
        tokens,
        pos: 0,
        context,
    };
    let (entity, key) = parser.identifier().map_err(|_| fail("expected a key"))?;
    let ascending = match parser.next() {
        None => true,
        Some(Token::Word(w)) if w.eq_ignore_ascii_case("ASC") => true,
        Some(Token::Word(w)) if w.eq_ignore_ascii_case("DESC") => false,
        Some(_) => return Err(fail("expected ASC or DESC after the key")),
    };
    if parser.peek().is_some() {
        return Err(fail("unexpected text after the direction"));
    }
    Ok(OrderKey {
        entity,
        key,
        ascending,
    })
}

/// Parses a filter and a list of `order_by` entries into a [`Search`]; duplicate order keys
/// are rejected as MLflow does.
pub fn parse_search(
    context: Context,
    filter: Option<&str>,
    order_by: &[String],
) -> Result<Search, Error> {
    let clauses = parse_filter(context, filter.unwrap_or(""))?;
    let mut order: Vec<OrderKey> = Vec::new();
    for entry in order_by.iter().filter(|e| !e.trim().is_empty()) {
        let key = parse_order_by(context, entry)?;
        if order
            .iter()
            .any(|k| k.entity == key.entity && k.key == key.key)
        {
            return Err(Error::OrderBy {
                clause: entry.clone(),
                reason: "duplicate order_by key".to_string(),
            });
        }
        order.push(key);
    }
    Ok(Search { clauses, order })
}

#[cfg(test)]
#[path = "filter_tests.rs"]
mod tests;

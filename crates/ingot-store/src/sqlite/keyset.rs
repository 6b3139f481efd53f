//! Keyset pagination: an ordering as a list of SQL terms, the predicate selecting the rows that
//! sort after a given row, and the opaque page tokens that carry that row's sort key.
//!
//! A token is URL-safe base64 of JSON `{"q": fingerprint, "k": [key values]}`. The fingerprint
//! hashes everything that shapes the result (filter, order, experiments, view), so a token
//! replayed against a different query is refused instead of silently skipping rows. The next
//! page is `WHERE <row sorts after the token's row> ORDER BY ... LIMIT n`, which SQLite answers
//! by seeking the index of the first term rather than counting off an offset.

use std::fmt::Debug;

use serde::{Deserialize, Serialize};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, TypeInfo, ValueRef};

use super::search::{Bind, Fragment};
use crate::{Error, Result};

/// How a term treats NULL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nulls {
    /// The expression is never NULL (a NOT NULL column).
    Never,
    /// NULLs sort last in both directions (`expr IS NULL` is ordered first), as MLflow does.
    Last,
    /// SQLite's own rule: NULL is the smallest value (first ascending, last descending).
    Native,
}

/// One `ORDER BY` term: an SQL expression over the searched row, with its bound values.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Term {
    pub expr: String,
    pub binds: Vec<Bind>,
    pub ascending: bool,
    pub nulls: Nulls,
}

impl Term {
    /// A term on a plain column.
    pub(crate) fn column(expr: &str, ascending: bool, nulls: Nulls) -> Term {
        Term {
            expr: expr.to_string(),
            binds: Vec::new(),
            ascending,
            nulls,
        }
    }

    fn push_expr(&self, out: &mut Fragment) {
        out.sql.push_str(&self.expr);
        out.binds.extend(self.binds.iter().cloned());
    }

    /// `expr <op> value`.
    fn compare(&self, op: &str, value: &Key, out: &mut Fragment) {
        self.push_expr(out);
        out.sql.push_str(&format!(" {op} ?"));
        out.binds.push(value.bind());
    }

    fn is_null(&self, out: &mut Fragment, not: bool) {
        self.push_expr(out);
        out.sql
            .push_str(if not { " IS NOT NULL" } else { " IS NULL" });
    }

    /// The condition that a row's value equals `value`.
    fn equal(&self, value: &Key, out: &mut Fragment) {
        match value {
            Key::N => self.is_null(out, false),
            _ => self.compare("=", value, out),
        }
    }

    /// The condition that a row's value sorts strictly after `value`, or `false` when nothing
    /// can (the value is NULL and NULLs come last).
    fn after(&self, value: &Key, out: &mut Fragment) -> bool {
        let op = if self.ascending { ">" } else { "<" };
        let nulls_follow = match self.nulls {
            Nulls::Never => false,
            Nulls::Last => true,
            Nulls::Native => !self.ascending,
        };
        match value {
            Key::N if nulls_follow || self.nulls == Nulls::Never => false,
            Key::N => {
                // Native ascending: NULLs come first, so everything else follows them.
                self.is_null(out, true);
                true
            }
            _ if nulls_follow => {
                out.sql.push('(');
                self.compare(op, value, out);
                out.sql.push_str(" OR ");
                self.is_null(out, false);
                out.sql.push(')');
                true
            }
            _ => {
                self.compare(op, value, out);
                true
            }
        }
    }
}

/// A full ordering; its last terms must identify a row uniquely.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Order {
    pub terms: Vec<Term>,
}

impl Order {
    /// The `ORDER BY` list.
    pub(crate) fn by(&self) -> Fragment {
        let mut out = Fragment::default();
        for (i, term) in self.terms.iter().enumerate() {
            if i > 0 {
                out.sql.push_str(", ");
            }
            if term.nulls == Nulls::Last {
                term.is_null(&mut out, false);
                out.sql.push_str(", ");
            }
            term.push_expr(&mut out);
            out.sql
                .push_str(if term.ascending { " ASC" } else { " DESC" });
        }
        out
    }

    /// Extra select-list columns `, expr AS k0, …` carrying each row's sort key.
    pub(crate) fn select(&self) -> Fragment {
        let mut out = Fragment::default();
        for (i, term) in self.terms.iter().enumerate() {
            out.sql.push_str(", ");
            term.push_expr(&mut out);
            out.sql.push_str(&format!(" AS k{i}"));
        }
        out
    }

    /// Reads the sort key selected by [`Order::select`] from a row.
    pub(crate) fn keys(&self, row: &SqliteRow) -> Result<Vec<Key>> {
        (0..self.terms.len())
            .map(|i| Key::read(row, &format!("k{i}")))
            .collect()
    }

    /// ` AND (…)`: the rows sorting strictly after the row whose key is `keys`; empty without
    /// a key. The first term also gets a plain range bound an index can seek on.
    pub(crate) fn after(&self, keys: Option<&[Key]>) -> Result<Fragment> {
        let mut out = Fragment::default();
        let Some(keys) = keys else {
            return Ok(out);
        };
        if keys.len() != self.terms.len() || keys.is_empty() {
            return Err(bad_token("its sort key does not match this search"));
        }
        let first = &self.terms[0];
        if first.nulls == Nulls::Never && keys[0] != Key::N {
            out.sql.push_str(" AND ");
            first.compare(
                if first.ascending { ">=" } else { "<=" },
                &keys[0],
                &mut out,
            );
        }
        let mut disjuncts: Vec<Fragment> = Vec::new();
        for i in 0..self.terms.len() {
            let mut d = Fragment::default();
            for (term, key) in self.terms[..i].iter().zip(keys) {
                term.equal(key, &mut d);
                d.sql.push_str(" AND ");
            }
            if self.terms[i].after(&keys[i], &mut d) {
                disjuncts.push(d);
            }
        }
        out.sql.push_str(" AND (");
        if disjuncts.is_empty() {
            out.sql.push('0');
        }
        for (i, d) in disjuncts.into_iter().enumerate() {
            if i > 0 {
                out.sql.push_str(" OR ");
            }
            out.sql.push('(');
            out.sql.push_str(&d.sql);
            out.sql.push(')');
            out.binds.extend(d.binds);
        }
        out.sql.push(')');
        Ok(out)
    }
}

/// One sort-key value of a row, as SQLite stored it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum Key {
    /// NULL.
    N,
    I(i64),
    /// A real, as its IEEE bits (JSON has no infinities).
    F(u64),
    S(String),
}

impl Key {
    fn bind(&self) -> Bind {
        match self {
            Key::N => Bind::Int(0),
            Key::I(i) => Bind::Int(*i),
            Key::F(bits) => Bind::Real(f64::from_bits(*bits)),
            Key::S(s) => Bind::Text(s.clone()),
        }
    }

    fn read(row: &SqliteRow, column: &str) -> Result<Key> {
        let raw = row.try_get_raw(column)?;
        if raw.is_null() {
            return Ok(Key::N);
        }
        let type_name = raw.type_info().name().to_string();
        Ok(match type_name.as_str() {
            "INTEGER" | "BIGINT" | "INT8" | "BOOLEAN" => Key::I(row.try_get(column)?),
            "REAL" | "DOUBLE" | "FLOAT" | "NUMERIC" => {
                Key::F(row.try_get::<f64, _>(column)?.to_bits())
            }
            _ => Key::S(row.try_get(column)?),
        })
    }
}

#[derive(Serialize, Deserialize)]
struct Token {
    q: String,
    k: Vec<Key>,
}

fn bad_token(reason: &str) -> Error {
    Error::Invalid {
        what: "page_token".to_string(),
        reason: format!("not a page token issued for this search ({reason})"),
    }
}

/// A stable fingerprint of whatever shapes a search's result (FNV-1a over its debug form).
pub(crate) fn fingerprint(query: &impl Debug) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in format!("{query:?}").bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// Encodes the token of the page after the row with sort key `keys`.
pub(crate) fn encode(fingerprint: &str, keys: Vec<Key>) -> String {
    let token = Token {
        q: fingerprint.to_string(),
        k: keys,
    };
    // Serializing plain strings and numbers cannot fail.
    base64_encode(serde_json::to_string(&token).unwrap_or_default().as_bytes())
}

/// Decodes a page token for the query with this fingerprint: `None` for the first page.
pub(crate) fn decode(token: Option<&str>, fingerprint: &str) -> Result<Option<Vec<Key>>> {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let bytes = base64_decode(token).ok_or_else(|| bad_token("not base64"))?;
    let token: Token = serde_json::from_slice(&bytes).map_err(|_| bad_token("malformed"))?;
    if token.q != fingerprint {
        return Err(bad_token("it was issued for a different filter or order"));
    }
    Ok(Some(token.k))
}

/// The next page's token when more than `max_results` rows were fetched: the sort key of the
/// last row shown.
pub(crate) fn next_token(fingerprint: &str, keys: &[Vec<Key>], max_results: i64) -> Option<String> {
    let shown = usize::try_from(max_results).ok()?;
    (keys.len() > shown && shown > 0).then(|| encode(fingerprint, keys[shown - 1].clone()))
}

/// One page of a keyset-paginated search over a single table.
pub(crate) struct PageQuery<'a> {
    /// The selected columns, before the sort-key columns the order adds.
    pub columns: &'a str,
    /// The table and its alias, e.g. `experiments e`.
    pub from: &'a str,
    /// What follows `WHERE` before the filter: `1 = 1`, or a condition on `ids`.
    pub condition: String,
    /// Values bound to `condition`'s placeholders, in order.
    pub ids: &'a [i64],
    /// The compiled `filter_string` (an ` AND ...` fragment).
    pub filter: &'a Fragment,
    pub order: &'a Order,
    /// `fingerprint` of everything that shapes the result.
    pub fingerprint: String,
    pub page_token: Option<&'a str>,
    pub max_results: i64,
}

impl PageQuery<'_> {
    /// Fetches one row more than the page holds, to know whether another page follows:
    /// returns the page's rows (at most `max_results`) and the next page's token.
    pub(crate) async fn fetch(
        &self,
        pool: &sqlx::SqlitePool,
    ) -> Result<(Vec<SqliteRow>, Option<String>)> {
        use sqlx::Arguments;
        let order = self.order;
        let after = order.after(decode(self.page_token, &self.fingerprint)?.as_deref())?;
        let (select, by) = (order.select(), order.by());
        let sql = format!(
            "SELECT {}{} FROM {} WHERE {}{}{} ORDER BY {} LIMIT ?",
            self.columns, select.sql, self.from, self.condition, self.filter.sql, after.sql, by.sql
        );
        let mut args = sqlx::sqlite::SqliteArguments::default();
        select.bind_into(&mut args)?;
        for id in self.ids {
            args.add(*id).map_err(sqlx::Error::Encode)?;
        }
        self.filter.bind_into(&mut args)?;
        after.bind_into(&mut args)?;
        by.bind_into(&mut args)?;
        args.add(self.max_results + 1)
            .map_err(sqlx::Error::Encode)?;
        let mut rows = sqlx::query_with(&sql, args).fetch_all(pool).await?;
        let keys = rows
            .iter()
            .map(|row| order.keys(row))
            .collect::<Result<Vec<_>>>()?;
        let next_page_token = next_token(&self.fingerprint, &keys, self.max_results);
        rows.truncate(usize::try_from(self.max_results).unwrap_or(0));
        Ok((rows, next_page_token))
    }
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
#[path = "keyset_tests.rs"]
mod tests;

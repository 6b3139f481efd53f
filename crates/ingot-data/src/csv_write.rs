//! Writing a record batch as CSV text with a header (what the CLI sends to an endpoint when
//! it is given a Parquet file): every Arrow type is written as Arrow displays it, floats in
//! their shortest round-trip form, nulls as empty fields, and fields quoted where CSV needs it.

use arrow_array::RecordBatch;
use arrow_cast::display::{ArrayFormatter, FormatOptions};

use crate::{Error, Result};

/// The batch as CSV: a header of its column names, then one line per row.
pub fn write_csv(batch: &RecordBatch) -> Result<Vec<u8>> {
    let fail = |e: &dyn std::fmt::Display| Error::Csv {
        line: 0,
        message: format!("cannot write CSV: {e}"),
    };
    let options = FormatOptions::default().with_null("");
    let formatters = batch
        .columns()
        .iter()
        .map(|column| ArrayFormatter::try_new(column.as_ref(), &options))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| fail(&e))?;
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let schema = batch.schema();
    writer
        .write_record(schema.fields().iter().map(|f| f.name().as_str()))
        .map_err(|e| fail(&e))?;
    let mut cells: Vec<String> = vec![String::new(); formatters.len()];
    for row in 0..batch.num_rows() {
        for (cell, formatter) in cells.iter_mut().zip(&formatters) {
            cell.clear();
            use std::fmt::Write;
            write!(cell, "{}", formatter.value(row)).map_err(|e| fail(&e))?;
        }
        writer.write_record(&cells).map_err(|e| fail(&e))?;
    }
    writer.into_inner().map_err(|e| fail(&e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DataFormat;

    #[test]
    fn a_table_written_as_csv_reads_back_the_same() {
        let text = "id,score,name,ok,at\n\
                    1,0.1,\"Smith, Ann\",true,2020-01-01T00:00:00\n\
                    2,,\"say \"\"hi\"\"\",false,\n\
                    3,-1e-300,plain,,2021-06-30T12:34:56.5\n";
        let table = crate::read_table(text.as_bytes(), DataFormat::Csv).unwrap();
        let written = write_csv(&table.batch).unwrap();
        let back = crate::read_table(&written, DataFormat::Csv).unwrap();
        assert_eq!(
            back.batch,
            table.batch,
            "{}",
            String::from_utf8_lossy(&written)
        );
        let header = written.split(|b| *b == b'\n').next().unwrap();
        assert_eq!(header, b"id,score,name,ok,at");
    }

    #[test]
    fn floats_keep_every_bit() {
        let values = [
            0.1,
            1.0 / 3.0,
            f64::MAX,
            5e-324,
            -2.5e10,
            123_456_789.012_345_68,
        ];
        let mut text = String::from("x\n");
        for v in values {
            text.push_str(&format!("{v:e}\n"));
        }
        let table = crate::read_table(text.as_bytes(), DataFormat::Csv).unwrap();
        let back = crate::read_table(&write_csv(&table.batch).unwrap(), DataFormat::Csv).unwrap();
        assert_eq!(back.batch, table.batch);
    }
}

"""The exchange's generated agreements (Commitment to Quality, financial agreement) as PDFs."""

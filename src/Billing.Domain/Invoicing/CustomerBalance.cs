namespace Billing.Domain.Invoicing;

/// <summary>Why a customer's balance moved (Stripe's customer balance transaction types).</summary>
public enum BalanceTransactionType
{
    /// <summary>A merchant adjustment (negative = credit granted).</summary>
    Adjustment,

    /// <summary>Balance used by (or a negative total added from) a finalized invoice.</summary>
    AppliedToInvoice,

    /// <summary>A credit note credited to the balance.</summary>
    CreditNote,
}

/// <summary>One movement of a customer balance, with the balance it left.</summary>
public sealed record BalanceTransaction(string Id, string CustomerId, string Currency, long Amount, long EndingBalance, BalanceTransactionType Type, string? Reference, DateTimeOffset Created);

/// <summary>
/// A customer's running balance in one currency, in Stripe's sign convention: <b>negative = credit</b> the merchant owes
/// the customer (used to reduce the next invoices' amount due), <b>positive = debt</b> added to the next invoice.
/// Updated by finalized invoices (<see cref="InvoiceFinalizeResult.CustomerBalanceChange"/>), credit notes
/// (<see cref="CreditNoteResult.CustomerBalanceChange"/>) and adjustments.
/// </summary>
public sealed record CustomerBalance
{
    public required string CustomerId { get; init; }

    public required string Currency { get; init; }

    public long Balance { get; init; }

    public int Version { get; init; }

    /// <summary>Moves the balance by <paramref name="amount"/> (negative = credit) and returns the new state and its transaction.</summary>
    public (CustomerBalance Balance, BalanceTransaction Transaction) Apply(long amount, BalanceTransactionType type, string? reference, string transactionId, DateTimeOffset now)
    {
        var next = this with { Balance = checked(Balance + amount), Version = Version + 1 };
        return (next, new BalanceTransaction(transactionId, CustomerId, Currency, amount, next.Balance, type, reference, now));
    }
}

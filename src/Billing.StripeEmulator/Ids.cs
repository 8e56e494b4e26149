using System.Security.Cryptography;

namespace Billing.StripeEmulator;

internal static class Ids
{
    private const string Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    public static string New(string prefix, int length = 24) =>
        prefix + RandomNumberGenerator.GetString(Alphabet, length);
}

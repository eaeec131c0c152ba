# The journal of a feed against a real httpd: STORE/journal.jsonl has a
# "start" line once the server runs, then for a package "seen" and
# "published" (the corte's id, time, package, sha256, files, bytes,
# load_ms), for a broken package "refused" (package, reason, message), for
# the same package again "same-corte", and after a graceful restart
# "graceful" naming the corte served.  Every line is one whole JSON object
# with "at" (ISO-8601 in the feed's zone, -06:00), "feed" and "event".
# /prep-status shows the last lines as "events"; `prepctl events FEED
# --json` prints them and `--since` only the later ones.  Feed: diario.
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use JSON::PP ();
use Time::HiRes qw(time sleep);
use PrepTest;

my $feed = 'diario';
my $tmp  = tmp_dir();
my $JSON = JSON::PP->new->utf8->canonical;
my $AT   = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?-06:00$/;

# Every line is whole JSON with at/feed/event; the file ends with a newline.
sub journal_well_formed {
    my ($what) = @_;
    my $file = store($feed) . '/journal.jsonl';
    ok -s $file, "$what: STORE/journal.jsonl exists" or return;
    like slurp($file), qr/\n\z/, "$what: the journal ends with a whole line";
    my @lines = journal_lines($feed);
    my @bad;
    for my $i (0 .. $#lines) {
        my $d = eval { $JSON->decode($lines[$i]) };
        my $why = ref $d ne 'HASH' ? 'not a JSON object'
                : ($d->{at} // '') !~ $AT ? "at '" . ($d->{at} // '') . "' not in the feed's zone"
                : ($d->{feed} // '') ne $feed ? "feed '" . ($d->{feed} // '') . "'"
                : !length($d->{event} // '') ? 'no event'
                : undef;
        push @bad, "line " . ($i + 1) . ": $why: $lines[$i]" if $why;
    }
    is_deeply \@bad, [], "$what: every line is a JSON object with at (-06:00), feed, event";
    # "at" never goes backwards (appended in order).
    my @t = map { iso_to_epoch($_->{at} // '') // 0 } grep { $_ } journal($feed);
    my @back = grep { $t[$_] < $t[$_ - 1] } 1 .. $#t;
    is scalar(@back), 0, "$what: the lines are in the order of their times";
}

sub index_of {
    my ($cb, $from) = @_;
    my @j = journal($feed);
    for my $i (($from // 0) .. $#j) {
        return $i if $j[$i] && $cb->($j[$i]);
    }
    return undef;
}

# ---------------------------------------------------------------- start
my $start = wait_journal($feed, 15, sub { $_[0]{event} eq 'start' });
ok $start, 'after the server starts, the journal has a "start" line'
    or diag 'journal: ' . join("\n", journal_lines($feed));
journal_well_formed('after start');

# ---------------------------------------------------------------- a package
my $iso = '2024-06-02T21:05:00-06:00';
my $pkg = make_package(out => "$tmp/PREP_diario_2105.tar.gz", corte => $iso, seed => 191, files => 300);
my $n0 = scalar(journal_lines($feed));
my ($f) = upload_and_wait($pkg, $feed, timeout => 20);
ok $f, 'the package is published' or give_up('diario: no corte');
my $id = $f->{corte}{id};

my $pub = wait_journal($feed, 10, sub { $_[0]{event} eq 'published' }, $n0);
ok $pub, '"published" is journaled' or diag join "\n", journal_lines($feed);
my $c = $pub && ref $pub->{corte} eq 'HASH' ? $pub->{corte} : {};
is $c->{id}, $id, 'published: corte.id is the corte served';
is $c->{time}, $iso, 'published: corte.time, in the feed\'s zone';
is $c->{package}, 'PREP_diario_2105.tar.gz', 'published: corte.package';
is $c->{sha256}, sha256_file($pkg), 'published: corte.sha256 of the package';
is $c->{files}, $f->{corte}{files}, 'published: corte.files, as the status counts them';
cmp_ok $c->{files} // 0, '>', 250, 'published: corte.files (' . ($c->{files} // 'none') . ')';
ok(($c->{bytes} // 0) > 0, 'published: corte.bytes');
ok defined $c->{load_ms} && $c->{load_ms} =~ /^\d+(?:\.\d+)?$/, 'published: corte.load_ms';

my $i_seen = index_of(sub { $_[0]{event} eq 'seen' && ($_[0]{package} // '') =~ /PREP_diario_2105/ }, $n0);
my $i_pub  = index_of(sub { $_[0]{event} eq 'published' }, $n0);
ok defined $i_seen, '"seen" is journaled with the package';
ok defined $i_seen && defined $i_pub && $i_seen < $i_pub, '"seen" comes before "published"';

# ---------------------------------------------------------------- refused
{
    my $bad = "$tmp/PREP_diario_roto.tar.gz";
    spit($bad, "esto no es un paquete\n" x 200);
    my $n = scalar(journal_lines($feed));
    upload_renamed($bad, $feed);
    my $r = wait_rejected($feed, 'PREP_diario_roto.tar.gz', 20);
    ok $r, 'the broken package is refused';
    my $ref = wait_journal($feed, 10, sub { $_[0]{event} eq 'refused' }, $n);
    ok $ref, '"refused" is journaled' or diag join "\n", journal_lines($feed);
    $ref //= {};
    like $ref->{package} // '', qr/PREP_diario_roto\.tar\.gz/, 'refused: package';
    ok length($ref->{reason} // ''), 'refused: reason (' . ($ref->{reason} // 'none') . ')';
    is $ref->{reason}, $r && $r->{reason}, 'refused: the reason the status gives';
    ok length($ref->{message} // '') > 5, 'refused: a message';
    is corte_id($feed), $id, 'the corte served did not change';
}

# ---------------------------------------------------------------- same corte
{
    my $n = scalar(journal_lines($feed));
    upload_renamed($pkg, $feed, 'PREP_diario_2105_otra_vez.tar.gz');
    my $same = wait_journal($feed, 20, sub { $_[0]{event} eq 'same-corte' }, $n);
    ok $same, 'the same package again: "same-corte" is journaled' or diag join "\n", journal_lines($feed);
    is corte_id($feed), $id, 'the same corte is still served';
}

# ---------------------------------------------------------------- graceful
{
    my $n = scalar(journal_lines($feed));
    restart_graceful();
    my $g = wait_journal($feed, 20, sub { $_[0]{event} eq 'graceful' }, $n);
    ok $g, 'a graceful restart: "graceful" is journaled' or diag join "\n", journal_lines($feed);
    like $g ? $JSON->encode($g) : '', qr/\Q$id\E/, 'graceful: names the corte served';
    ok !defined index_of(sub { $_[0]{event} eq 'start' }, $n), 'and not a new "start"';
}
journal_well_formed('after the package, the refusal, the same corte and the restart');

# ---------------------------------------------------------------- status
{
    my $s = status_feed($feed) || {};
    my $ev = ref $s->{events} eq 'ARRAY' ? $s->{events} : [];
    ok scalar(@$ev), '/prep-status has the feed\'s "events"';
    cmp_ok scalar(@$ev), '<=', 20, 'at most the last 20';
    my @j = grep { $_ } journal($feed);
    my @tail = @j > @$ev ? @j[$#j - $#$ev .. $#j] : @j;
    is_deeply [map { "$_->{event} $_->{at}" } @$ev], [map { "$_->{event} $_->{at}" } @tail],
        'events are the last lines of the journal, oldest first';
    ok((grep { $_->{event} eq 'published' && ref $_->{corte} eq 'HASH' && ($_->{corte}{id} // '') eq $id } @$ev),
       'events hold the "published" line with its corte');
}

# ---------------------------------------------------------------- prepctl events
sub decode_events {
    my $text = shift;
    my $all = eval { $JSON->decode($text) };
    return @$all if ref $all eq 'ARRAY';
    return @{ $all->{events} } if ref $all eq 'HASH' && ref $all->{events} eq 'ARRAY';
    return map { my $d = eval { $JSON->decode($_) }; $d // { unparsed => $_ } } grep { /\S/ } split /\n/, $text;
}
{
    my @j = grep { $_ } journal($feed);
    my $r = prepctl('events', $feed, '--json');
    is $r->{rc}, 0, 'prepctl events diario --json: exit 0' or diag "$r->{cmd}: $r->{err}";
    my @e = decode_events($r->{out});
    is_deeply [map { ($_->{event} // '?') . ' ' . ($_->{at} // '?') } @e],
              [map { "$_->{event} $_->{at}" } @j], 'prints every line of the journal, as JSON'
        or diag $r->{out};

    # --since the published line's time, to the second (as an operator
    # types it), then exactly as the journal writes it (with milliseconds).
    my $since = $pub ? $pub->{at} : $iso;
    (my $since_s = $since) =~ s/\.\d+(?=[+-]\d\d:\d\d$)//;
    $r = prepctl('events', $feed, '--since', $since, '--json');
    is $r->{rc}, 0, "prepctl events --since $since (the journal's own \"at\") --json: exit 0"
        or diag "$r->{cmd}: $r->{err}";
    $r = prepctl('events', $feed, '--since', $since_s, '--json');
    is $r->{rc}, 0, "prepctl events --since $since_s --json: exit 0" or diag "$r->{cmd}: $r->{err}";
    @e = decode_events($r->{out});
    ok !(grep { ($_->{event} // '') eq 'start' } @e), '--since: the earlier "start" is left out';
    ok((grep { ($_->{event} // '') eq 'published' } @e), '--since: "published" is printed');
    ok((grep { ($_->{event} // '') eq 'graceful' } @e), '--since: and the later lines');
    cmp_ok scalar(@e), '<=', scalar(@j) - 1, '--since prints fewer lines than the whole journal';

    $r = prepctl('events', $feed);
    is $r->{rc}, 0, 'prepctl events diario (text): exit 0' or diag "$r->{cmd}: $r->{err}";
    like $r->{out}, qr/published/, 'text: names the events';
    like $r->{out}, qr/\Q$id\E|21:05/, 'text: and the corte published';
}

done_testing;

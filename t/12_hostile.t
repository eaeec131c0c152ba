# The hostile corpus (tests/hostile-corpus): one package per attack, each
# refused with its stable reason code (/prep-status `rejected`, the error
# log, STORE/rejected/NAME.reason), while the served corte stays the same
# (id and json/main.json bytes), nothing is written outside the store (no
# file named by an attack anywhere in t/ or /tmp, the directory a symlink
# points to stays empty) and the store's staging/ is left empty.  Then a
# good package with legitimate odd names (spaces, accents, %, #, +, &) is
# still taken, and every name is served through percent-decoding.
# Feed: hostil (PrepLimits files=2000 bytes=64M file=16M depth=12).
use strict;
use warnings FATAL => 'all';

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use File::Find ();
use File::Path qw(make_path);
use PrepTest;

my $feed   = 'hostil';
my $inc    = incoming($feed);
my $sto = store($feed);
my $store  = store($feed);
my $base   = "/prep/$feed";
my $tmp    = tmp_dir();
my $mark   = 'prep-hostil-evil';   # what the corpus names the files attacks try to write
my $served = '2024-06-02T21:00:00-06:00';
my $target = "$tmp/destino";       # where the symlink attack points
make_path($target);

# Names attacks would create outside the package: none may exist afterwards.
sub evil_files {
    my @found = grep { -e $_ || -l $_ } glob("/tmp/$mark*"), glob(top_dir() . "/$mark*");
    File::Find::find({ no_chdir => 1, wanted => sub {
        push @found, $File::Find::name if (split m{/}, $File::Find::name)[-1] =~ /^\Q$mark\E/;
    } }, t_dir());
    return @found;
}
my @evil_before = evil_files();
is_deeply \@evil_before, [], "no file named $mark* before the attacks" or diag "@evil_before";

sub staging_leftovers {
    opendir my $dh, "$store/staging" or return ();
    my @left = grep { $_ ne '.' && $_ ne '..' } readdir $dh;
    closedir $dh;
    return @left;
}

# ---------------------------------------------------------------- the corpus

my $corpus = "$tmp/corpus";
system('python3', top_dir() . '/tests/hostile-corpus', $corpus, '--served', $served,
       '--corte', '2024-06-02T22:00:00-06:00', '--link-target', $target,
       '--files', 2000, '--bytes', '64M', '--file', '16M', '--depth', 12) == 0
    or give_up('tests/hostile-corpus failed');
my @cases = map { [split /\t/] } grep { length } split /\n/, slurp("$corpus/MANIFEST");
cmp_ok scalar(@cases), '>=', 24, 'the corpus has one package per attack' or give_up('no corpus');
for my $c (@cases) {
    (my $expect = slurp("$corpus/$c->[0].expect")) =~ s/\s+\z//;
    is $expect, $c->[1], "$c->[0]: its .expect names $c->[1]";
}

# ---------------------------------------------------------------- a good corte first

my $good = make_package(out => "$tmp/HOSTIL_2100.tar.gz", corte => $served, seed => 12, files => 300);
my ($f) = upload_and_wait($good, $feed, timeout => 30);
ok $f, 'a first good package is published' or give_up('hostil: no corte: ' . join('', explain(status_feed($feed))));
my $id0   = $f->{corte}{id};
my $main0 = http(GET => "$base/json/main.json");
is $main0->code, 200, 'its json/main.json is served';
my $main0_bytes = $main0->content;
my @cortes0 = store_cortes($feed);

# ---------------------------------------------------------------- every attack

for my $c (@cases) {
    my ($name, $reason, $writes, $what) = @$c;
    my $t = "$name ($what)";
    my $log0 = error_log_size();
    upload_renamed("$corpus/$name", $feed);
    my $rej = wait_rejected($feed, $name, 40);
    ok $rej, "$t: listed under rejected" or do { diag explain status_feed($feed); next };
    is $rej->{reason}, $reason, "$t: reason $reason"
        or diag 'message: ' . ($rej->{message} // 'none');
    like $rej->{at} // '', qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/, "$t: with the time (at)";

    my $line = wait_for(5, sub {
        error_log_since($log0) =~ /feed \Q$feed\E: package \Q$name\E refused: (\S+): ([^\n]+)/
            ? [$1, $2] : undef;
    });
    ok $line, "$t: the refusal is in the error log" or next;
    is $line->[0], $reason, "$t: the error log names $reason";
    ok length($line->[1]) > 10, "$t: with a sentence: $line->[1]";

    ok wait_for(5, sub { -e "$sto/rejected/$name" }), "$t: moved to STORE/rejected/";
    ok !-e "$inc/$name", "$t: no longer in INCOMING";
    my $why = -e "$sto/rejected/$name.reason" ? slurp("$sto/rejected/$name.reason") : '';
    like $why, qr/^\Q$reason\E: \S/, "$t: NAME.reason gives the reason and the sentence";

    is corte_id($feed), $id0, "$t: the served corte is unchanged";
    my $main = http(GET => "$base/json/main.json");
    ok $main->code == 200 && $main->content eq $main0_bytes, "$t: json/main.json is the same bytes";
    is_deeply [store_cortes($feed)], \@cortes0, "$t: no corte was added to the store";
    ok wait_for(5, sub { !staging_leftovers() }), "$t: STORE/staging is left empty"
        or diag 'staging: ' . join(' ', staging_leftovers());
    if ($writes ne '-') {
        (my $leaf = $writes) =~ s{.*/}{};
        my @found = evil_files();
        is_deeply \@found, [], "$t: no $leaf was written anywhere" or diag "@found";
    }
}

# ---------------------------------------------------------------- nothing outside the store

{
    my @found = evil_files();
    is_deeply \@found, [], "after every attack: no file named $mark* in t/, its parent or /tmp"
        or diag "@found";
    opendir my $dh, $target or die;
    my @in = grep { $_ ne '.' && $_ ne '..' } readdir $dh;
    closedir $dh;
    is_deeply \@in, [], 'the directory the symlink pointed to is still empty';
    ok !-e "/tmp/$mark-absolute", 'the absolute entry did not create /tmp/' . "$mark-absolute";
    is_deeply [staging_leftovers()], [], 'STORE/staging is empty';
    my @rejected = grep { !/\.reason$/ } map { s{.*/}{}r } glob("$sto/rejected/*");
    is_deeply [sort @rejected], [sort map { $_->[0] } @cases],
        'STORE/rejected/ holds every attack, and nothing else';
    my $log = error_log_since(0);
    unlike $log, qr/Segmentation fault|exit signal|AddressSanitizer/,
        'no process of the server crashed';
}

# ---------------------------------------------------------------- odd but legitimate names

my $odd = "$tmp/HOSTIL_2230_nombres.tar.gz";
system('python3', top_dir() . '/tests/hostile-corpus', '--odd-names', $odd,
       '--corte', '2024-06-02T22:30:00-06:00') == 0 or give_up('cannot make the odd-names package');
my ($g) = upload_and_wait($odd, $feed, timeout => 30);
ok $g, 'the next good package (odd names) is still taken'
    or give_up('odd names refused: ' . join('', explain(status_feed($feed))));
is $g->{corte}{time}, '2024-06-02T22:30:00-06:00', 'its corte time';
isnt $g->{corte}{id}, $id0, 'a new corte';

my @names = grep { length } split /\n/, slurp("$odd.names");
cmp_ok scalar(@names), '>=', 8, 'the package has odd names';
for my $i (0 .. $#names) {
    my $name = $names[$i];          # UTF-8 bytes, as in the package
    my $want = "archivo $i: $name\n";
    my $url  = "$base/" . enc_path($name);
    my $res  = raw_http($url);
    is $res->{status}, 200, "GET $url";
    ok $res->{body} eq $want, "$url: the bytes of \"$name\"" or diag "got: $res->{body}";
    is $res->{headers}{'x-prep-corte'}, '2024-06-02T22:30:00-06:00', "$url: X-PREP-Corte";
}
# Characters a client may leave unencoded in a path.
is raw_http("$base/a+b.json")->{body}, "archivo 6: a+b.json\n", '"+" unencoded is a plus';
is raw_http("$base/PAN&PRI.csv")->{body}, "archivo 7: PAN&PRI.csv\n", '"&" unencoded';
# '#' unencoded starts a fragment, which a request line may not carry:
# never the file.
{
    my $res = raw_http("$base/boleta#1.html");
    ok $res->{status} >= 400 && $res->{status} < 500 && $res->{body} !~ /archivo 5/,
        '"#" unencoded: 4xx, not the file' or diag "status $res->{status}";
}
is raw_http("$base/boleta%231.html")->{status}, 200, '"#" as %23: the file';
# "100%.csv" must be asked for as 100%25.csv; "100%25.csv" as 100%2525.csv.
my $bad = raw_http("$base/100%.csv");
ok $bad->{status} >= 400 && $bad->{status} < 500, '"%" not followed by two hex digits: 4xx'
    or diag "status $bad->{status}";
is raw_http("$base/100%25.csv")->{body}, "archivo 3: 100%.csv\n", '%25 is "%"';
is raw_http("$base/100%2525.csv")->{body}, "archivo 4: 100%25.csv\n", '%2525 is "%25", decoded once';
is raw_http("$base/Quer%C3%A9taro.json")->{body}, "archivo 1: Quer\xc3\xa9taro.json\n",
    'UTF-8 percent-encoded (Quer%C3%A9taro)';
is raw_http("$base/Quer%c3%a9taro.json")->{status}, 200, 'lower-case hex escapes too';
is raw_http("$base/resultados%202024.html")->{status}, 200, 'a space as %20';

done_testing;
